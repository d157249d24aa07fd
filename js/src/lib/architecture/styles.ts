// Styles of the ArchitectureView, added after the shared STYLES (scoped under .dsv-root.dsv-arch);
// JupyterLab's theme variables where it has them, so the light and dark themes both read.

export const ARCHITECTURE_STYLES = `
.dsv-root.dsv-arch { color: var(--jp-ui-font-color1, #222); max-width: 100%; min-width: 0; box-sizing: border-box; }
.dsv-root.dsv-arch .dsv-status { background: var(--jp-layout-color2, #e8f5e9); align-self: flex-start; }
.dsv-root.dsv-arch .dsv-status.dsv-error { background: rgba(229, 57, 53, 0.16); color: var(--jp-ui-font-color0, #000); box-shadow: inset 3px 0 0 var(--jp-error-color1, #d32f2f); }
.dsv-arch-title { flex: 1; font-weight: 600; overflow-wrap: anywhere; }
.dsv-arch-scroll { overflow: auto; max-width: 100%; max-height: 560px; border: 1px solid var(--jp-border-color2, #e0e0e0); padding: 8px; box-sizing: border-box; background: var(--jp-layout-color0, #fff); }
.dsv-arch-stack { display: flex; flex-direction: column; align-items: stretch; gap: 0; max-width: 960px; }
.dsv-arch-arrow { align-self: center; color: var(--jp-ui-font-color1, #444); line-height: 1.1; font-size: 14px; }
.dsv-arch-block { border: 1px solid var(--jp-border-color1, #bbb); border-radius: 6px; padding: 4px 8px; background: var(--jp-layout-color1, #fafafa); display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; }
.dsv-arch-block.dsv-arch-io { background: var(--jp-layout-color2, #eef3f8); }
.dsv-arch-name { font-weight: 600; }
.dsv-arch-meta { color: var(--jp-ui-font-color1, #444); font-size: 12px; }
.dsv-arch-group { border: 1px solid var(--jp-border-color1, #bbb); border-radius: 6px; background: var(--jp-layout-color1, #fafafa); margin: 2px 0; }
.dsv-arch-group.dsv-moe { border-left: 4px solid var(--jp-brand-color1, #1e88e5); }
.dsv-arch-group.dsv-dense { border-left: 4px solid var(--jp-ui-font-color3, #999); }
.dsv-arch-head { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; padding: 4px 8px; }
.dsv-root.dsv-arch button.dsv-arch-toggle { background: transparent; color: inherit; border: 1px solid var(--jp-border-color1, #bbb); border-radius: 4px; min-width: 1.8em; }
.dsv-arch-parts { display: flex; flex-wrap: wrap; gap: 6px; padding: 0 8px 4px 8px; }
.dsv-arch-sub { border: 1px dashed var(--jp-border-color1, #bbb); border-radius: 4px; padding: 1px 6px; font-size: 12px; color: var(--jp-ui-font-color1, #222); }
.dsv-arch-layers { display: flex; flex-wrap: wrap; gap: 3px; padding: 4px 8px 6px 8px; border-top: 1px solid var(--jp-border-color2, #e0e0e0); }
.dsv-arch-layers[hidden] { display: none; }
.dsv-root.dsv-arch button.dsv-arch-layer { min-width: 3em; background: var(--jp-layout-color0, #fff); color: var(--jp-ui-font-color1, #222); border: 1px solid var(--jp-border-color1, #bbb); border-radius: 4px; font-size: 12px; }
.dsv-root.dsv-arch button.dsv-arch-layer:hover { border-color: var(--jp-brand-color1, #1e88e5); }
.dsv-root.dsv-arch button.dsv-arch-layer:focus-visible, .dsv-root.dsv-arch button.dsv-arch-toggle:focus-visible { outline: 2px solid var(--jp-brand-color1, #1e88e5); outline-offset: 1px; }
.dsv-root.dsv-arch button.dsv-arch-layer.dsv-on { background: var(--jp-brand-color1, #1e88e5); color: var(--jp-ui-inverse-font-color1, #fff); border-color: var(--jp-brand-color1, #1e88e5); }
.dsv-arch-details { border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 6px; padding: 4px 8px; display: flex; flex-wrap: wrap; gap: 4px 24px; font-size: 12px; }
.dsv-arch-details[hidden] { display: none; }
.dsv-arch-column { display: flex; flex-direction: column; }
.dsv-arch-column .dsv-arch-name { font-size: 13px; }
`;
