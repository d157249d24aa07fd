// GenerationView (src/deepseek_viz/widgets/generation_view.py): a prompt box, Generate / Stop, the tokens
// as they are produced (coloured by probability or entropy; the prompt, the reasoning section and the
// answer apart) and a timeline across the generated tokens. Python streams the tokens in batches.

import type { RenderProps } from "@anywidget/types";
import { decodeFloats, decodeIndices, type ArrayValue } from "./lib/buffers";
import { cssAt, heatStops, inkOn, interpolate, legendTicks, stopsGradient } from "./lib/colour";
import { groundOf, onThemeChange } from "./lib/theme";
import { CommandErrorLine, invoke } from "./lib/commands";
import { element, markDrawn } from "./lib/dom";
import { colourValue, columnMeans, entropyScale, splitBlocks, type ColourBy } from "./lib/generation/data";
import { GENERATION_STYLES } from "./lib/generation/styles";
import { Timeline } from "./lib/generation/timeline";
import { listen, toggleIndex } from "./lib/model";
import { renderStatus, type Status } from "./lib/status";
import { STYLES } from "./lib/styles";
import { showControls, tokenClass, tokenLabel, type TokenEntry } from "./lib/tokens";
import { formatPercent, formatWeight } from "./lib/format";

/** Mirrors the synced traits of GenerationView. */
export interface GenerationModel {
  prompt: string;
  max_new_tokens: number;
  temperature: number;
  top_k: number;
  top_p: number;
  seed: number | null;
  chat: boolean;
  colour_by: ColourBy;
  selected_token: number;
  generating: boolean;
  stop_reason: string;
  max_new_tokens_limit: number | null;
  num_layers: number;
  status: Status;
  _tokens: TokenEntry[];
  _prompt_length: number;
  /** float32 `[m]` each generated token's probability. */
  _probs: ArrayValue;
  /** float32 `[m]` the entropy (nats) of the distribution it was drawn from. */
  _entropies: ArrayValue;
  /** `[start, end]` of the reasoning section among the generated tokens, `[]` when none. */
  _think: number[];
  /** uint16 `[m]` first hidden-state layer whose lens top-1 is the token (`num_layers + 1`: none); null while generating. */
  _lens_layer: ArrayValue;
  /** float32 `[m]` fraction of routed experts changed from the token before; null while generating or dense. */
  _expert_change: ArrayValue;
  _data_id: number;
}

type Block = "prompt" | "reasoning" | "answer";

function render({ model, el, experimental, signal }: RenderProps<GenerationModel>): () => void {
  let tokens: TokenEntry[] = [];
  let probs: Float32Array = new Float32Array(0);
  let entropies: Float32Array = new Float32Array(0);
  let lensLayer: Uint32Array | null = null;
  let expertChange: Float32Array | null = null;
  let expertsByLayer: { values: Float32Array; layers: number } | null = null;
  let promptLength = 0;
  let spans: HTMLSpanElement[] = [];
  let spanBlocks: Block[] = [];

  const promptBox = element("textarea", { testid: "generation-prompt", className: "dsv-input", attrs: { spellcheck: "false", "aria-label": "prompt" } });
  promptBox.value = model.get("prompt");
  const maxTokens = element("input", { testid: "max-new-tokens", attrs: { type: "number", min: "1", step: "1", "aria-label": "max new tokens" } });
  const temperature = element("input", { testid: "temperature", attrs: { type: "number", min: "0", step: "0.1", "aria-label": "temperature" } });
  const chat = element("input", { testid: "chat-mode", attrs: { type: "checkbox", "aria-label": "chat template" } });
  const colourBy = element("select", { testid: "colour-by", attrs: { "aria-label": "colour tokens by" } });
  for (const name of ["probability", "entropy"]) colourBy.append(element("option", { text: name, attrs: { value: name } }));
  const button = element("button", { testid: "generate-button", className: "dsv-gen-button", text: "Generate", attrs: { type: "button" } });
  const continueButton = element("button", {
    testid: "continue-button",
    className: "dsv-gen-button",
    text: "Continue from token",
    attrs: { type: "button", title: "write on from the selected token (the tokens up to it become the prompt)" },
  });
  const status = element("span", { testid: "status", className: "dsv-status", attrs: { role: "status" } });
  const errorLine = new CommandErrorLine("generation-error");
  const label = (text: string, ...nodes: Node[]): HTMLLabelElement => element("label", { text }, ...nodes);
  const settings = element(
    "div",
    { className: "dsv-gen-settings" },
    label("max new tokens ", maxTokens),
    label("temperature ", temperature),
    label("chat ", chat),
    label("colour by ", colourBy),
    button,
    continueButton,
    status,
  );
  const top = element("div", { className: "dsv-gen-top" }, promptBox, settings, errorLine.root);

  const blockBodies: Record<Block, HTMLDivElement> = {
    prompt: element("div", { className: "dsv-gen-block-body" }),
    reasoning: element("div", { className: "dsv-gen-block-body" }),
    answer: element("div", { className: "dsv-gen-block-body" }),
  };
  const blockRoots: Record<Block, HTMLDivElement> = {
    prompt: element("div", { testid: "prompt-block", className: "dsv-gen-block dsv-gen-prompt" }, element("div", { className: "dsv-gen-block-title", text: "Prompt" }), blockBodies.prompt),
    reasoning: element("div", { testid: "reasoning-block", className: "dsv-gen-block dsv-gen-reasoning" }, element("div", { className: "dsv-gen-block-title", text: "Reasoning" }), blockBodies.reasoning),
    answer: element("div", { testid: "answer-block", className: "dsv-gen-block dsv-gen-answer" }, element("div", { className: "dsv-gen-block-title", text: "Answer" }), blockBodies.answer),
  };
  const tokenArea = element("div", { testid: "generation-tokens", className: "dsv-gen-tokens" }, blockRoots.prompt, blockRoots.reasoning, blockRoots.answer);
  const tooltip = element("div", { testid: "generation-tooltip", className: "dsv-tooltip" });
  tooltip.hidden = true;
  const legend = element("div", { testid: "timeline-legend", className: "dsv-gen-legend" });
  const timeline = new Timeline({
    hover: (column, event) => (column >= 0 ? showTooltip(promptLength + column, event) : hideTooltip()),
    click: (column) => select(promptLength + column),
  });
  const root = element(
    "div",
    { testid: "generation-view", className: "dsv-root dsv-gen-root" },
    element("style", { text: STYLES + GENERATION_STYLES }),
    top,
    tokenArea,
    timeline.root,
    legend,
    tooltip,
  );
  el.replaceChildren(root);

  function select(position: number): void {
    if (position < 0 || position >= tokens.length) return;
    toggleIndex(model, "selected_token", position);
    showSelection();
  }

  function tooltipText(position: number): string {
    const head = `${position}: ${tokenLabel(tokens, position) || "·"}`;
    const j = position - promptLength;
    if (j < 0 || j >= probs.length) return `${head}\nprompt token`;
    const lines = [head, `probability ${formatPercent(probs[j])}`, `entropy ${formatWeight(entropies[j])} nats`];
    if (lensLayer) {
      const layer = lensLayer[j];
      lines.push(layer > model.get("num_layers") ? "the lens never agrees" : `lens agrees from layer ${layer}`);
    }
    if (expertChange) lines.push(`experts changed ${formatPercent(expertChange[j])}`);
    return lines.join("\n");
  }

  function showTooltip(position: number, event: MouseEvent): void {
    if (position < 0 || position >= tokens.length) return hideTooltip();
    tooltip.textContent = tooltipText(position);
    const box = root.getBoundingClientRect();
    tooltip.style.left = `${event.clientX - box.left + 12}px`;
    tooltip.style.top = `${event.clientY - box.top + 12}px`;
    tooltip.hidden = false;
  }

  function hideTooltip(): void {
    tooltip.hidden = true;
  }

  function makeSpan([text, kind]: TokenEntry, index: number): HTMLSpanElement {
    return element("span", {
      testid: `token-${index}`,
      className: tokenClass(text, kind),
      text: showControls(text),
      attrs: { "data-index": String(index) },
    });
  }

  /** Show `next` (appending to what is shown where it extends it in the same blocks, else anew). */
  function showTokens(next: TokenEntry[]): void {
    const blocks = splitBlocks(promptLength, next.length, model.get("_think"));
    const blockOf = (i: number): Block =>
      i < blocks.prompt[1] ? "prompt" : blocks.reasoning && i >= blocks.reasoning[0] && i < blocks.reasoning[1] ? "reasoning" : "answer";
    let keep = Math.min(spans.length, next.length);
    for (let i = 0; i < keep; i++) {
      if (tokens[i][0] !== next[i][0] || tokens[i][1] !== next[i][1] || spanBlocks[i] !== blockOf(i)) {
        keep = 0;
        break;
      }
    }
    if (keep < spans.length) {
      for (const body of Object.values(blockBodies)) body.replaceChildren();
      spans = [];
      spanBlocks = [];
      keep = 0;
    }
    for (let i = keep; i < next.length; i++) {
      const span = makeSpan(next[i], i);
      const block = blockOf(i);
      spans.push(span);
      spanBlocks.push(block);
      blockBodies[block].append(span);
    }
    tokens = next;
    blockRoots.reasoning.hidden = blocks.reasoning === null;
    blockRoots.answer.hidden = blocks.answer.every(([a, b]) => b <= a) && blocks.reasoning !== null;
    colour();
    showSelection();
    markDrawn(tokenArea);
  }

  /** Colour the generated tokens on the theme's heat scale (its low end each block's own background,
   * the text black or white by contrast) and draw the legend of that scale. */
  function colour(): void {
    const by = model.get("colour_by");
    const scale = entropyScale(entropies);
    const stopsOf = new Map<Block, ReturnType<typeof heatStops>>();
    const scaleOf = (block: Block): ReturnType<typeof heatStops> => {
      let stops = stopsOf.get(block);
      if (!stops) stopsOf.set(block, (stops = heatStops(groundOf(blockBodies[block]))));
      return stops;
    };
    spans.forEach((span, i) => {
      const j = i - promptLength;
      if (j < 0 || j >= probs.length) return;
      const t = Math.max(0, Math.min(1, colourValue(by, probs[j], entropies[j], scale)));
      const stops = scaleOf(spanBlocks[i]);
      span.style.backgroundColor = cssAt(stops, t);
      span.style.color = inkOn(interpolate(stops, t));
    });
    const stops = heatStops(groundOf(legend));
    const ticks = legendTicks(by === "probability" ? 1 : scale, 3).map((tick) =>
      element("span", { text: by === "probability" ? formatPercent(tick) : formatWeight(tick) }),
    );
    legend.replaceChildren(
      element("span", { className: "dsv-legend-title", text: by === "probability" ? "colour: probability of the token" : "colour: entropy (nats)" }),
      element(
        "div",
        { className: "dsv-legend-scale" },
        element("div", { testid: "legend-bar", className: "dsv-legend-bar", attrs: { style: `background:${stopsGradient(stops)}` } }),
        element("div", { className: "dsv-legend-ticks" }, ...ticks),
      ),
      element("span", { className: "dsv-gen-legend-note", text: "timeline: the same scale; bar height is the value (lens row: taller = agrees at an earlier layer)" }),
    );
  }

  function showSelection(): void {
    const selected = model.get("selected_token");
    spans.forEach((span, i) => span.classList.toggle("dsv-selected", i === selected));
    timeline.setSelected(selected >= promptLength ? selected - promptLength : -1);
    // the lens row arrives with the finished trace, which continuing writes on from
    continueButton.disabled = model.get("generating") || selected < 0 || lensLayer === null;
  }

  function showStatus(): void {
    renderStatus(status, model.get("status"));
    const reason = model.get("stop_reason");
    if (model.get("status").state === "ready" && reason && !model.get("generating")) status.textContent = `ready — ${reason}`;
  }

  function showGenerating(): void {
    const running = model.get("generating");
    button.dataset.testid = running ? "stop-button" : "generate-button";
    button.textContent = running ? "Stop" : "Generate";
    showSelection();
    showStatus();
  }

  function showSettings(): void {
    const limit = model.get("max_new_tokens_limit");
    if (limit !== null) maxTokens.max = String(limit);
    else maxTokens.removeAttribute("max");
    maxTokens.value = String(model.get("max_new_tokens"));
    temperature.value = String(model.get("temperature"));
    chat.checked = model.get("chat");
    colourBy.value = model.get("colour_by");
    if (promptBox.value !== model.get("prompt") && document.activeElement !== promptBox) promptBox.value = model.get("prompt");
  }

  function onData(): void {
    try {
      promptLength = model.get("_prompt_length");
      probs = decodeFloats(model.get("_probs")) ?? new Float32Array(0);
      entropies = decodeFloats(model.get("_entropies")) ?? new Float32Array(0);
      lensLayer = decodeIndices(model.get("_lens_layer"));
      const byLayer = model.get("_expert_change");
      const values = decodeFloats(byLayer);
      const layers = byLayer?.shape[0] ?? 0;
      expertsByLayer = values && layers > 0 ? { values, layers } : null;
      expertChange = values && layers > 0 ? columnMeans(values, layers, probs.length) : null;
    } catch (error) {
      errorLine.show(error);
      return;
    }
    showTokens(model.get("_tokens"));
    timeline.setData({ probs, entropies, lensLayer, numLayers: model.get("num_layers"), expertChange, expertsByLayer });
    showSelection();
    markDrawn(root);
  }

  /** Send a command; its error shows under the controls (cleared by the next one). */
  function send(name: string, message: Record<string, unknown>): void {
    errorLine.clear();
    invoke(experimental, name, message, signal).catch((error: unknown) => errorLine.show(error));
  }

  function onClick(): void {
    if (model.get("generating")) {
      send("_stop", {});
      return;
    }
    send("_generate", {
      prompt: promptBox.value,
      max_new_tokens: Math.max(1, Math.round(Number(maxTokens.value) || 1)),
      temperature: Math.max(0, Number(temperature.value) || 0),
      chat: chat.checked,
    });
  }

  const onContinue = (): void => send("_continue", { index: model.get("selected_token") });

  const indexOf = (target: EventTarget | null): number => {
    const span = target instanceof Element ? target.closest<HTMLElement>("[data-index]") : null;
    return span ? Number(span.dataset.index) : -1;
  };
  const onTokenOver = (event: MouseEvent): void => {
    const index = indexOf(event.target);
    if (index >= 0) showTooltip(index, event);
    else hideTooltip();
  };
  const onTokenClick = (event: MouseEvent): void => select(indexOf(event.target));
  const onColourBy = (): void => {
    model.set("colour_by", colourBy.value as ColourBy);
    model.save_changes();
    colour();
  };
  tokenArea.addEventListener("mouseover", onTokenOver);
  tokenArea.addEventListener("mouseleave", hideTooltip);
  tokenArea.addEventListener("click", onTokenClick);
  button.addEventListener("click", onClick);
  continueButton.addEventListener("click", onContinue);
  colourBy.addEventListener("change", onColourBy);

  const unlisten = listen(model, [
    ["change:_data_id", onData],
    ["change:selected_token", showSelection],
    ["change:status", showStatus],
    ["change:stop_reason", showStatus],
    ["change:generating", showGenerating],
    ["change:colour_by", () => (showSettings(), colour())],
    ["change:prompt", showSettings],
    ["change:max_new_tokens", showSettings],
    ["change:temperature", showSettings],
    ["change:chat", showSettings],
    ["change:max_new_tokens_limit", showSettings],
  ]);
  showSettings();
  showGenerating();
  onData();
  const unwatchTheme = onThemeChange(colour);

  return () => {
    unlisten();
    unwatchTheme();
    timeline.destroy();
    tokenArea.removeEventListener("mouseover", onTokenOver);
    tokenArea.removeEventListener("mouseleave", hideTooltip);
    tokenArea.removeEventListener("click", onTokenClick);
    button.removeEventListener("click", onClick);
    continueButton.removeEventListener("click", onContinue);
    colourBy.removeEventListener("change", onColourBy);
  };
}

export default { render };
