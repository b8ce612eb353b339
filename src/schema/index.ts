import { builder } from './builder.js';
import './imports.js';
import './import-jobs.js';
import './import-webhooks.js';

/** Apollo Federation v2 `@link` of the subgraph (the version our composition and routers speak). */
const FEDERATION_LINK_URL = 'https://specs.apollo.dev/federation/v2.6';

/**
 * The gateway's executable schema: importing the domain files registers their types. It is an
 * Apollo Federation v2 subgraph (`_service`, `_entities`), and serves on its own just the same.
 */
export const schema = builder.toSubGraphSchema({ linkUrl: FEDERATION_LINK_URL, federationDirectives: ['@key'] });
