// An entry using serveModule, for a workflow file that does not parse.
import { serveModule } from "../runtime.ts";

serveModule(() => import("./broken_syntax_workflow.ts"));
