// SPDX-License-Identifier: MIT
// Flamenco job type: a Heritage Motion prompts batch split into shards, one task per shard.
//
// Install: copy this file into the Manager's `scripts/` folder (next to flamenco-manager) and restart
// the Manager; define the two-way variable `heritage_motion` (the checkout or unpacked add-on folder
// on shared storage) in flamenco-manager.yaml. See docs/scale.md.
//
// Each task runs the existing headless batch on a worker:
//   {blender} -b [scene.blend] -P {heritage_motion}/addon/batch.py -- --prompts FILE --shard i/n --out DIR
// The batch's own rules make a re-queued task safe: finished prompts are skipped, half-finished ones
// are finished or redone, and a lock keeps two workers off the same prompt.

const JOB_TYPE = {
  label: "Heritage Motion Batch",
  description: "Generate, key and render a JSON-lines file of dance prompts, split over workers",
  settings: [
    { key: "prompts", type: "string", subtype: "file_path", required: true,
      description: "JSON-lines prompts file on shared storage (one {\"prompt\": ...} per line)" },
    { key: "output_dir", type: "string", subtype: "dir_path", required: true,
      description: "Shared folder for the outputs (NAME.mp4, .bvh, .audit.json, .png per prompt)" },
    { key: "shards", type: "int32", default: 4, required: true,
      description: "Number of tasks; prompts are split into this many disjoint shards" },
    { key: "blendfile", type: "string", required: false, visible: "submission",
      description: "Optional .blend whose armature receives the dances (reloaded per prompt, never saved)" },
    { key: "batch_script", type: "string", default: "{heritage_motion}/addon/batch.py", visible: "web",
      description: "The headless batch script as the workers see it" },
    { key: "engine", type: "string", default: "WORKBENCH", choices: ["WORKBENCH", "EEVEE", "CYCLES"], visible: "submission" },
    { key: "resolution", type: "string", default: "640x360", visible: "submission",
      description: "WIDTHxHEIGHT of the videos" },
    { key: "extra_args", type: "string", required: false, visible: "web",
      description: "More batch options, space separated (e.g. --force)" },
  ],
};

function shardArgs(settings, index, count) {
  let args = ["-P", settings.batch_script, "--",
              "--prompts", settings.prompts,
              "--shard", `${index}/${count}`,
              "--out", settings.output_dir,
              "--engine", settings.engine || "WORKBENCH",
              "--resolution", settings.resolution || "640x360"];
  if (settings.extra_args) {
    args = args.concat(settings.extra_args.split(" ").filter((a) => a.length > 0));
  }
  return args;
}

function compileJob(job) {
  const settings = job.settings;
  const count = settings.shards;
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw `shards must be a whole number from 1 to 1000, not ${count}`;
  }
  for (let index = 1; index <= count; index++) {
    const task = author.Task(`shard-${index}-of-${count}`, "blender");
    task.addCommand(author.Command("blender-render", {
      exe: "{blender}",
      exeArgs: "-b -y",
      argsBefore: [],
      blendfile: settings.blendfile || "",
      args: shardArgs(settings, index, count),
    }));
    job.addTask(task);
  }
}
