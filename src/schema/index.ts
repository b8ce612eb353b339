import { builder } from './builder.js';
import './imports.js';

/** The gateway's executable schema: importing the domain files registers their types. */
export const schema = builder.toSchema({ sortSchema: false });
