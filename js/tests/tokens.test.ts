import { describe, expect, it, vi } from "vitest";
import { PIECE, SPECIAL, NORMAL, TokenView, showControls, tokenClass, tokenLabel, type TokenEntry } from "../src/lib/tokens";

const TOKENS: TokenEntry[] = [
  ["<｜begin▁of▁sentence｜>", SPECIAL],
  ["<img src=x onerror=alert(1)>", NORMAL],
  [" 你", NORMAL],
  ["", PIECE],
  ["", PIECE],
  ["\n", NORMAL],
];

describe("TokenView", () => {
  it("shows token text literally, never as HTML", () => {
    const view = new TokenView({ hover: () => undefined, click: () => undefined });
    view.setTokens(TOKENS);
    expect(view.root.querySelector("img")).toBeNull();
    expect(view.root.querySelector('[data-testid="token-1"]')?.textContent).toBe("<img src=x onerror=alert(1)>");
    expect(view.root.children).toHaveLength(TOKENS.length);
    expect(view.root.dataset.ready).toBe("true");
    expect(view.root.dataset.version).toBe("1");
    view.setTokens(TOKENS.slice(0, 2));
    expect(view.root.dataset.version).toBe("2");
  });

  it("redraws on showTokens only for tokens not shown already", () => {
    const view = new TokenView({ hover: () => undefined, click: () => undefined });
    view.showTokens(TOKENS);
    view.showTokens(TOKENS);
    expect(view.root.dataset.version).toBe("1");
    view.showTokens([...TOKENS]);
    expect(view.root.dataset.version).toBe("2");
  });

  it("reports hovered and clicked token indices", () => {
    const hover = vi.fn();
    const click = vi.fn();
    const view = new TokenView({ hover, click });
    view.setTokens(TOKENS);
    view.root.querySelector('[data-testid="token-2"]')?.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    view.root.querySelector('[data-testid="token-4"]')?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(hover).toHaveBeenCalledWith(2);
    expect(click).toHaveBeenCalledWith(4);
  });

  it("shades tokens by weight relative to the largest", () => {
    const view = new TokenView({ hover: () => undefined, click: () => undefined });
    view.setTokens(TOKENS);
    view.shade(Float32Array.from([0.5, 0.25, 0, 0, 0, 0.25]), 1);
    const spans = Array.from(view.root.children) as HTMLElement[];
    expect(spans[0].style.backgroundColor).toBe("rgba(253, 231, 37, 0.9)");
    expect(spans[2].style.backgroundColor).toBe("rgba(68, 1, 84, 0.15)");
    expect(spans[1].classList.contains("dsv-active")).toBe(true);
    view.shade(null, -1);
    expect(spans[0].style.backgroundColor).toBe("");
  });
});

describe("tokenLabel", () => {
  it("makes whitespace visible and names byte pieces by their character", () => {
    expect(tokenLabel(TOKENS, 2)).toBe("␣你");
    expect(tokenLabel(TOKENS, 4)).toBe("␣你[2]");
    expect(tokenLabel(TOKENS, 5)).toBe("⏎");
    expect(tokenLabel(TOKENS, 99)).toBe("");
  });
});

describe("hostile token text", () => {
  it("shows control characters as control pictures, keeping tab and newline", () => {
    expect(showControls("a\x00b\x07c\x1bd\x7fe\rf\tg\nh")).toBe("a␀b␇c␛d␡e␍f\tg\nh");
    const view = new TokenView({ hover: () => undefined, click: () => undefined });
    view.setTokens([["nul\x00", NORMAL], ["<script>x</script>", NORMAL]]);
    expect(view.root.querySelector('[data-testid="token-0"]')?.textContent).toBe("nul␀");
    expect(view.root.querySelector('[data-testid="token-1"]')?.textContent).toBe("<script>x</script>");
    expect(view.root.querySelector("script")).toBeNull();
    expect(tokenLabel([["\x00\t\n", NORMAL]], 0)).toBe("␀⇥⏎");
  });

  it("isolates bidi text in labels and leaves other text as it is", () => {
    expect(tokenLabel([["\u202eevil", NORMAL]], 0)).toBe("\u2068\u202eevil\u2069");
    expect(tokenLabel([[" שלום", NORMAL]], 0)).toBe("\u2068␣שלום\u2069");
    expect(tokenLabel([["zero\u200bwidth", NORMAL]], 0)).toBe("zero\u200bwidth");
    expect(tokenLabel([["", NORMAL]], 0)).toBe("");
  });
});

describe("tokenClass", () => {
  it("marks a whitespace token with a line break, whatever its kind, and nothing else", () => {
    expect(tokenClass("\n", NORMAL)).toBe("dsv-token dsv-break");
    expect(tokenClass(" \n\n ", PIECE)).toBe("dsv-token dsv-piece dsv-break");
    expect(tokenClass("a\n", NORMAL)).toBe("dsv-token");
    expect(tokenClass(" ", NORMAL)).toBe("dsv-token");
    expect(tokenClass("<s>", SPECIAL)).toBe("dsv-token dsv-special");
  });
});
