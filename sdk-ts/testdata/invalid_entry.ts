// The entry file the host would generate for invalid_workflow.ts.
import { serve } from "../runtime.ts";
import workflow from "./invalid_workflow.ts";

serve(workflow);
