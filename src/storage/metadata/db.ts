import type { Kysely, Transaction } from 'kysely';
import type { Schema } from './schema.js';

/** A database handle or a transaction: every store works on either. */
export type Db = Kysely<Schema> | Transaction<Schema>;
