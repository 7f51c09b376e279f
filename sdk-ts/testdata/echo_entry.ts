// The entry file the host would generate for echo_workflow.ts.
import { serve } from "../runtime.ts";
import workflow from "./echo_workflow.ts";

serve(workflow);
