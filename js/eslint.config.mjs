import tseslint from "typescript-eslint";

export default tseslint.config(...tseslint.configs.recommended, {
  rules: {
    "no-restricted-properties": [
      "error",
      { property: "innerHTML", message: "Model text must be set with textContent, never as HTML." },
      { property: "outerHTML", message: "Model text must be set with textContent, never as HTML." },
    ],
  },
});
