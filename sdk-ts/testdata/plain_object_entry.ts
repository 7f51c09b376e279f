// The entry file the host would generate for plain_object_workflow.ts.
import { serve } from "../runtime.ts";
import workflow from "./plain_object_workflow.ts";

serve(workflow);
