import type { Page } from 'playwright-core';
import { STEP_TIMEOUT_MS } from './steps.js';

/**
 * GraphiQL driven as a user drives it: operations picked from the run button's menu, results
 * read from the result pane, text double-clicked and pasted in the variables editor.
 */
export interface GraphiQLUi {
  /** Runs `operation` from the run button's menu; resolves with the first result the pane shows that matches `result`. */
  run(operation: string, result: RegExp): Promise<RegExpExecArray>;
  /** Every text the result pane has shown, in order. */
  readonly results: readonly string[];
  /** Resolves with the first text shown from `results[from]` on that matches `pattern`. */
  resultMatching(pattern: RegExp, from: number, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Double-clicks `word` in the variables editor and pastes `text` over it. */
  replaceInVariables(word: string, text: string): Promise<void>;
}

/**
 * Watches the result pane through a MutationObserver in the page, which reports every text the
 * pane shows (a subscription's states included) as it shows them: no polling, so no state is
 * missed however short it lasts. Call before the page is opened.
 */
export async function graphiqlUi(page: Page): Promise<GraphiQLUi> {
  const results: string[] = [];
  const listeners = new Set<() => void>();
  await page.exposeFunction('recordResult', (text: string) => {
    results.push(text);
    for (const listener of listeners) listener();
  });
  // Monaco renders only the lines in view, each placed by its style's top, not by DOM order.
  await page.addInitScript(`
    let shown = '';
    new MutationObserver(() => {
      const text = [...document.querySelectorAll('.graphiql-response .view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map((line) => line.textContent.replaceAll('\\u00a0', ' '))
        .join('\\n');
      if (text !== shown) window.recordResult((shown = text));
    }).observe(document, { subtree: true, childList: true, characterData: true });
  `);

  const resultMatching = (pattern: RegExp, from: number, timeoutMs = STEP_TIMEOUT_MS) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      let checked = from;
      const check = () => {
        for (; checked < results.length; checked++) {
          const match = pattern.exec(results[checked]!);
          if (match) return done(() => resolve(match));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`the result pane showed nothing matching ${pattern}; last shown:\n${results.at(-1) ?? '(nothing)'}`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });

  return {
    results,
    resultMatching,
    async run(operation, result) {
      const from = results.length;
      await page.locator('.graphiql-execute-button').click();
      await page.getByRole('menuitem', { name: operation, exact: true }).click();
      return resultMatching(result, from);
    },
    async replaceInVariables(word, text) {
      // Monaco draws each token in its own span; a double-click selects the word under it.
      await page.locator('.graphiql-editor-tool[aria-label="Variables"] .view-line span span', { hasText: word }).dblclick();
      await page.keyboard.insertText(text);
    },
  };
}
