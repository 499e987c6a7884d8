// The world one test file runs against: an nginx-rtmp origin, one ffmpeg
// publisher per stream name, and Ferry. stop() ends everything by pid and
// is safe to call twice.
import { startFerry } from './ferry.mjs';
import { writeConf } from './util.mjs';
import { startOrigin, startPublisher } from './rtmp.mjs';

/**
 * @param {object} o
 * @param {string[]} o.publish  names published on the origin (application "live")
 * @param {boolean} o.ferry     whether to start Ferry too (default true)
 * @param {string} o.ferryConf  text of a config file for that Ferry (default none)
 */
export async function startEnv({ publish = [], ferry = true, ferryConf = null } = {}) {
  const env = { origin: null, publishers: {}, ferry: null };
  try {
    env.origin = await startOrigin();
    // Publishers start in parallel: each waits for its own first frames.
    const pubs = await Promise.all(publish.map((n) => startPublisher(env.origin.url(n), { logName: `ffmpeg-${n}` })));
    publish.forEach((n, i) => { env.publishers[n] = pubs[i]; });
    if (ferry) {
      env.ferry = await startFerry({ extraArgs: ferryConf ? ['--config', writeConf(ferryConf)] : [] });
    }
  } catch (err) {
    await stopEnv(env);
    throw err;
  }
  env.uri = (name) => env.origin.url(name);
  env.stop = () => stopEnv(env);
  return env;
}

async function stopEnv(env) {
  const all = [];
  if (env.ferry) all.push(env.ferry.proc.stop({ graceMs: 10000 }));
  for (const p of Object.values(env.publishers)) all.push(p.stop());
  if (env.origin) all.push(env.origin.stop());
  await Promise.allSettled(all);
}
