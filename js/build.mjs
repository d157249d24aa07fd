// Bundles each top-level js/src/*.ts (one per widget) into the Python package's static folder.
//
//   node build.mjs           minified, no sourcemaps (what the wheel ships)
//   node build.mjs --watch   rebuilds on every change, unminified with inline sourcemaps, until stopped;
//                            with ANYWIDGET_HMR=1 in the kernel, the open widgets reload the new bundle
import { build, context } from "esbuild";
import { readdirSync } from "node:fs";

const watch = process.argv.includes("--watch");

const entryPoints = readdirSync("src")
  .filter((name) => name.endsWith(".ts"))
  .map((name) => `src/${name}`);

const options = {
  entryPoints,
  bundle: true,
  format: "esm",
  target: "es2020",
  // anywidget loads a bundle from its text, so a linked .map file could not be found: inline only
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  outdir: "../src/deepseek_viz/static",
  logLevel: "info",
};

if (watch) {
  const builder = await context(options);
  await builder.watch();
} else {
  await build(options);
}
