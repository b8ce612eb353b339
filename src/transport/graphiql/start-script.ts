import type { GraphiQLStarter } from './starter.js';

/** The id of the page's settings: a JSON data block, which the content policy does not count as a script. */
export const CONFIG_ELEMENT_ID = 'graphiql-config';
/** Where GraphiQL renders. */
export const ROOT_ELEMENT_ID = 'graphiql';

/**
 * The browser script that starts GraphiQL, served as a file of this origin like the bundle (the
 * page runs no inline script). It runs before the bundle, setting `MonacoEnvironment` first as the
 * renderer's inline script did, and renders once the bundle has defined `YogaGraphiQL`.
 *
 * The starter is written into it rather than into the page: the page is `no-store` (it may carry
 * a credential) and the starter's records are ~140 KB, which this file, cached, costs once.
 *
 * GraphiQL 5 fills its editors from its stored query and variables, not from the default tab:
 * on a first visit its variables editor stays empty, and a reload before any edit opens an empty
 * `<untitled>` tab. So when nothing of the editors is stored, the starter is stored as if the user
 * had typed it; GraphiQL then opens on it and finds its tab again after a reload.
 */
export function startScript(starter: GraphiQLStarter): string {
  return `'use strict';
((starter) => {
  const config = JSON.parse(document.getElementById(${JSON.stringify(CONFIG_ELEMENT_ID)}).textContent);
  // Monaco's workers are this origin's files too (worker-src 'self'), not blob: URLs.
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => config.workers[label] };

  const storedStarter = () => {
    try {
      if (localStorage.getItem('graphiql:query') === null && localStorage.getItem('graphiql:variables') === null) {
        localStorage.setItem('graphiql:query', starter.query);
        localStorage.setItem('graphiql:variables', starter.variables);
      }
      return {};
    } catch {
      // No storage (the browser blocks it): every visit is a first one; hand the starter over directly.
      return { query: starter.query, variables: starter.variables };
    }
  };
  const options = {
    ...config.options,
    defaultTabs: [{ query: starter.query, variables: starter.variables, headers: config.options.headers ?? null }],
    ...storedStarter(),
  };
  addEventListener('DOMContentLoaded', () => YogaGraphiQL.renderYogaGraphiQL(document.getElementById(${JSON.stringify(ROOT_ELEMENT_ID)}), options));
})(${JSON.stringify(starter)});
`;
}
