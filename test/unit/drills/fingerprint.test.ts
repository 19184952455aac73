import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fingerprintTable, fingerprintTables, listTables } from '../../../src/drills/fingerprint';

function db(): Database.Database {
  const d = new Database(':memory:');
  d.exec(`
    CREATE TABLE plain (id INTEGER PRIMARY KEY, r REAL, t TEXT, b BLOB, n);
    CREATE TABLE keyed (k TEXT, j INTEGER, v, PRIMARY KEY (k, j)) WITHOUT ROWID;
    INSERT INTO plain VALUES (1, 0.30000000000000004, 'a', x'00ff', NULL), (2, 1e-7, 'b', NULL, 9007199254740993);
    INSERT INTO keyed VALUES ('b', 1, 'x'), ('a', 2, 'y'), ('a', 1, 'z');
  `);
  return d;
}

describe('fingerprintTable', () => {
  it('fingerprints rowid and WITHOUT ROWID tables with blobs, nulls and big integers', () => {
    const d = db();
    expect(listTables(d)).toEqual(['keyed', 'plain']);
    const all = fingerprintTables(d);
    expect(all.plain.rows).toBe(2);
    expect(all.keyed.rows).toBe(3);
    expect(fingerprintTables(d, { exclude: ['keyed'] })).toEqual({ plain: all.plain });
    expect(fingerprintTables(d, { tables: ['plain', 'absent'] })).toEqual({ plain: all.plain });
  });

  it('notices the smallest changes: the last bit of a real, one byte of a blob, a null, row order', () => {
    const cases = [
      'UPDATE plain SET r = 0.3 WHERE id = 1',
      "UPDATE plain SET b = x'00fe' WHERE id = 1",
      'UPDATE plain SET n = 0 WHERE id = 1',
      'UPDATE plain SET n = 9007199254740992 WHERE id = 2',
    ];
    const base = fingerprintTable(db(), 'plain').checksum;
    for (const sql of cases) {
      const d = db();
      d.exec(sql);
      expect(fingerprintTable(d, 'plain').checksum, sql).not.toBe(base);
    }
    // Same rows inserted in another order: rowid order is what counts, so equal.
    const other = new Database(':memory:');
    other.exec(`
      CREATE TABLE plain (id INTEGER PRIMARY KEY, r REAL, t TEXT, b BLOB, n);
      INSERT INTO plain VALUES (2, 1e-7, 'b', NULL, 9007199254740993), (1, 0.30000000000000004, 'a', x'00ff', NULL);
    `);
    expect(fingerprintTable(other, 'plain').checksum).toBe(base);
  });
});
