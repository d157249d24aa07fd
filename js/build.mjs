// Bundles each top-level js/src/*.ts (one per widget) into the Python package's static folder.
import { build } from "esbuild";
import { readdirSync } from "node:fs";

const entryPoints = readdirSync("src")
  .filter((name) => name.endsWith(".ts"))
  .map((name) => `src/${name}`);

await build({
  entryPoints,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  sourcemap: false,
  outdir: "../src/deepseek_viz/static",
  logLevel: "info",
});
