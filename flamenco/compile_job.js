// Compile a Flamenco job type offline, with the author API as Flamenco's documentation defines it
// (author.Task(name, type) with addCommand/addDependency, author.Command(type, parameters),
// job.settings and job.addTask; globals print and path). Prints the tasks as JSON.
//
//   node flamenco/compile_job.js flamenco/heritage_motion_batch.js '{"prompts": "...", ...}'
//
// Defaults of the job type's settings are filled in first, as the Manager does on submission.
"use strict";
const fs = require("fs");
const vm = require("vm");
const path = require("path");

const [script, settingsJson] = process.argv.slice(2);
const tasks = [];
const author = {
  Task(name, type) {
    return {
      name, type, commands: [], dependencies: [],
      addCommand(cmd) { this.commands.push(cmd); },
      addDependency(task) { this.dependencies.push(task.name); },
    };
  },
  Command(type, parameters) { return { type, parameters }; },
};
const context = { author, path: path.posix, print: (...a) => console.error(...a), console };
vm.createContext(context);
vm.runInContext(fs.readFileSync(script, "utf8") + "\nthis.JOB_TYPE = JOB_TYPE; this.compileJob = compileJob;", context);
const settings = {};
for (const s of context.JOB_TYPE.settings) {
  if (s.default !== undefined) settings[s.key] = s.default;
}
Object.assign(settings, JSON.parse(settingsJson || "{}"));
for (const s of context.JOB_TYPE.settings) {
  if (s.required && (settings[s.key] === undefined || settings[s.key] === "")) {
    console.error(`setting ${s.key} is required`);
    process.exit(2);
  }
}
const job = { settings, addTask(t) { tasks.push(t); } };
try {
  context.compileJob(job);
} catch (e) {
  console.error(`compileJob failed: ${e}`);
  process.exit(1);
}
console.log(JSON.stringify(tasks.map((t) => ({ name: t.name, type: t.type, commands: t.commands,
                                              dependencies: t.dependencies })), null, 1));
