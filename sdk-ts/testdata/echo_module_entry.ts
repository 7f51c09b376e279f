// An entry using serveModule for the echo workflow.
import { serveModule } from "../runtime.ts";

serveModule(() => import("./echo_workflow.ts"));
