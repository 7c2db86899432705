// The view layer: htm's tagged templates bound to Preact's `h` (no JSX, so no build step).
// Every view imports from here, not from the vendored files.
import { h, render, Fragment, createRef } from "../vendor/preact.js";
import htm from "../vendor/htm.js";

export const html = htm.bind(h);
export { h, render, Fragment, createRef };
export { useState, useEffect, useRef, useMemo, useCallback, useId, useReducer, useLayoutEffect } from "../vendor/preact-hooks.js";
