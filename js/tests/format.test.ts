import { describe, expect, it } from "vitest";
import { formatPercent, formatProb, formatSigned, formatWeight } from "../src/lib/format";

describe("number formats", () => {
  it("keeps small probabilities visible as percentages", () => {
    expect([0.1234, 0.0005, 1e-9].map(formatPercent)).toEqual(["12%", "0.05%", "1.0e-7%"]);
    // "100%" only for certainty, "0%" only for zero
    expect([1, 0.9996, 0.997, 0.995, 0.994, 0].map(formatPercent)).toEqual(["100%", ">99.9%", "99.7%", "99.5%", "99%", "0%"]);
  });
  it("writes a probability below 0.001 as a bound, never 0.000", () => {
    expect([0.41, 0.004, 0.0004, 0].map(formatProb)).toEqual(["0.41", "0.004", "<0.001", "0.00"]);
  });
  it("weights in three digits, scientific when small, signs with a real minus", () => {
    expect([formatWeight(-0.00042), formatWeight(12.345)]).toEqual(["-4.2e-4", "12.3"]);
    expect(formatSigned(-0.0042)).toBe("−0.004");
  });
});
