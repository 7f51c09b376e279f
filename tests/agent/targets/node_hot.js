// A Node.js process with a CPU-hot function (burnCpu) that keeps its event loop turning.
// Prints "ready <pid>" once it runs. With --trap-sigusr1 it handles SIGUSR1 itself, which keeps
// Node.js from opening its inspector on that signal.
"use strict";

function burnCpu(n) {
  let x = 1;
  for (let i = 0; i < n; i++) {
    x = (x * 31 + i) % 1000003;
  }
  return x;
}

let sink = 0;
function loop() {
  sink += burnCpu(200000);
  setImmediate(loop);
}

if (process.argv.includes("--trap-sigusr1")) {
  process.on("SIGUSR1", () => console.error("SIGUSR1 handled by the application"));
}

console.log(`ready ${process.pid}`);
loop();
