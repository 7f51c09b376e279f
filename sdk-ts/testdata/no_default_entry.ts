// An entry that passes the module namespace, which survives a missing
// default export and lets the runtime say what is wrong.
import { serve } from "../runtime.ts";
import * as workflowModule from "./no_default_workflow.ts";

serve(workflowModule);
