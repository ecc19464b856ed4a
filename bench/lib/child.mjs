// Entry point of every benchmark process: `node child.mjs <family> <role> <params-json>`.
// It runs `role` from roles/<family>.mjs, which opens its transport, calls `ctl.ready()` (the
// orchestrator answers with the shared instants once every process of the run is ready), moves
// messages and returns its result object, sent back over the fork IPC channel.
const [family, role, json] = process.argv.slice(2);

function fail(error) {
  const message = error instanceof Error ? `${error.message}\n${error.stack}` : String(error);
  if (process.send) process.send({ type: 'error', message: `${family}/${role}: ${message}` }, () => process.exit(1));
  else {
    console.error(message);
    process.exit(1);
  }
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

let onGo;
const go = new Promise((resolve) => (onGo = resolve));
// Removed at the start signal: some roles receive their data on this same channel.
const onControl = (m) => {
  if (m && m.type === 'go') {
    process.off('message', onControl);
    ctl.go = m;
    onGo(m);
  }
};
process.on('message', onControl);
const ctl = {
  /** The start signal, set synchronously when it arrives (before any later message is emitted). */
  go: null,
  /** Reports ready and resolves with { tWarm, tEnd } (ms on the shared clock) at the start signal. */
  ready() {
    process.send({ type: 'ready' });
    return go;
  },
};

const mod = await import(`./roles/${family}.mjs`);
if (typeof mod[role] !== 'function') throw new Error(`no role '${role}' in roles/${family}.mjs`);
const result = await mod[role](JSON.parse(json), ctl);
// Leave by running out of work rather than process.exit(): a transport may still be flushing (a
// zeromq socket delivers queued messages while it lingers). A stuck handle gets 5 s.
process.send({ type: 'result', result: result ?? {} }, () => {
  process.disconnect();
  setTimeout(() => process.exit(0), 5000).unref();
});
