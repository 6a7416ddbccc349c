// TLS to PostgreSQL through the URL's sslmode. tools/pgcluster.sh gives the test cluster a throwaway
// CA (PINFRAME_TEST_PGCLUSTER/ca.crt) and a server certificate for 127.0.0.1 signed by it. A replica
// given its URL in PINFRAME_DATABASE_URL, as a deployment does:
// - with sslmode=verify-full and sslrootcert=that CA is ready, views the demo PIN, and PostgreSQL
//   shows every one of its connections (application_name 'pinframe') as TLS;
// - with sslmode=verify-full and another CA's certificate (the same name, another key) exits
//   non-zero within 15 s with an error line on stderr;
// - with sslmode=require and no root certificate works, its connections encrypted (not verified).
// Every URL carries a password (trust authentication: the server ignores it), which nothing the
// replicas print may contain.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATABASE_URL, DEMO, PGCLUSTER, call, createDatabase, currentPin, keysInit, now, psql, skip, sleep, startReplica } from "./harness.mjs";

const skipped = skip || (!PGCLUSTER && "PINFRAME_TEST_PGCLUSTER is not set: the test needs the cluster's CA (ca.crt in its directory)");

const PASSWORD = "S3cret-Pw-123";
/// How soon a replica that cannot verify the server must have given up.
const FAIL_WITHIN = 15_000;

/// `db`'s URL with `PASSWORD` for the user and `query` (e.g. `sslmode=require`) appended, written
/// out as an operator would.
function urlOf(db, query) {
  const url = new URL(db.url);
  url.password = PASSWORD;
  url.search = "";
  return `${url}?${query}`;
}

/// `[with TLS, without TLS]`: the connections of replicas (application_name 'pinframe') to `db`.
function connections(db) {
  const row = psql(
    DATABASE_URL,
    `SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
       FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
      WHERE a.application_name = 'pinframe' AND a.datname = '${db.name}'`,
  );
  return row.split("|").map(Number);
}

/// Throws unless `PASSWORD` appears nowhere in what the replica printed.
function assertNoPassword(name, out) {
  for (const stream of ["stdout", "stderr"]) {
    assert.ok(!out[stream].includes(PASSWORD), `${name} printed the database password on ${stream}:\n${out[stream]}`);
  }
}

describe("TLS to PostgreSQL through the URL's sslmode", () => {
  const replicas = [];
  // One database for the file (each DROP DATABASE costs a checkpoint): the replicas use it in turn.
  let db;
  let keysDir;
  let wrongCaDir;
  const ca = () => join(PGCLUSTER, "ca.crt");

  before(() => {
    if (skipped) return;
    db = createDatabase("tls");
    keysDir = keysInit();
    // Another throwaway CA, named as the cluster's: only its key differs.
    wrongCaDir = mkdtempSync(join(tmpdir(), "pinframe-wrong-ca-"));
    const key = join(wrongCaDir, "ca.key");
    execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key], { stdio: "pipe" });
    execFileSync("openssl", ["req", "-x509", "-new", "-key", key, "-subj", "/CN=pinframe test CA", "-days", "1", "-out", join(wrongCaDir, "ca.crt")], {
      stdio: "pipe",
    });
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop().catch(() => {})));
    try {
      db?.drop();
    } catch (e) {
      process.stderr.write(`could not drop ${db.name}: ${e.message}\n`);
    }
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
    if (wrongCaDir) rmSync(wrongCaDir, { recursive: true, force: true });
  });

  /// Starts a replica with `query` on its URL (in PINFRAME_DATABASE_URL), checks /readyz and a view
  /// of the demo PIN, and that PostgreSQL shows its connections as TLS, all of them; then stops it,
  /// waits until its connections are gone (so that the next replica's are counted alone), and checks
  /// it never printed the password.
  async function works(name, query) {
    const replica = await startReplica({ name, databaseUrl: urlOf(db, query), urlInEnv: true, keysDir });
    replicas.push(replica);
    const ready = await call(replica.url, "/readyz", { method: "GET" });
    assert.equal(ready.status, 200, `/readyz: ${ready.status} ${ready.error ?? ready.text}`);
    assert.equal(await currentPin(replica.url), DEMO.pin);
    const [tls, plain] = connections(db);
    assert.ok(tls > 0, `${name}: no TLS connection of pinframe in pg_stat_ssl (${tls} with TLS, ${plain} without)`);
    assert.equal(plain, 0, `${name}: ${plain} connection(s) of pinframe without TLS (${tls} with)`);
    await replica.stop();
    assertNoPassword(name, replica.out);
    const deadline = now() + 5000;
    while (connections(db).some((n) => n > 0)) {
      assert.ok(now() < deadline, `${name}: its connections are still there 5 s after it stopped`);
      await sleep(50);
    }
  }

  test("verify-full with the cluster's CA: ready, views the PIN, every connection TLS", { skip: skipped }, async () => {
    await works("verify-full", `sslmode=verify-full&sslrootcert=${ca()}`);
  });

  test(`verify-full with another CA: exits non-zero within ${FAIL_WITHIN / 1000} s, says why on stderr, never the password`, { skip: skipped }, async () => {
    const start = now();
    let error;
    try {
      const replica = await startReplica({
        name: "wrong CA",
        databaseUrl: urlOf(db, `sslmode=verify-full&sslrootcert=${join(wrongCaDir, "ca.crt")}`),
        urlInEnv: true,
        keysDir,
      });
      replicas.push(replica);
    } catch (e) {
      error = e;
    }
    const ms = now() - start;
    assert.ok(error, "the replica started although it could not verify the server's certificate");
    assert.ok(error.out, `the replica did not exit by itself: ${error.message}`);
    assert.ok(error.exitCode !== 0 && error.exitCode !== null, `exit ${error.exitCode ?? error.signal}`);
    assert.ok(ms < FAIL_WITHIN, `it took ${Math.round(ms)} ms to give up`);
    assert.match(error.out.stderr, /^error: .*certificate/im, `stderr:\n${error.out.stderr}`);
    assertNoPassword("wrong CA", error.out);
  });

  test("require without a root certificate: encrypted, not verified, works", { skip: skipped }, async () => {
    await works("require", "sslmode=require");
  });
});
