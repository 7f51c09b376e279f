// An entry using serveModule, for a workflow module that throws while loading.
import { serveModule } from "../runtime.ts";

serveModule(() => import("./throwing_module_workflow.ts"));
