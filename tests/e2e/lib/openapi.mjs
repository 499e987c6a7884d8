// docs/openapi.yaml as a test oracle: a small validator for the JSON-Schema subset the spec
// uses, and a checker that matches real responses (status, content type, headers, body)
// against the operation they answer and remembers which (path, method, status) it saw.
//
// The validator knows these keywords: type (integer included), nullable, enum, pattern,
// minimum, properties, required, additionalProperties (false or a schema), items,
// minItems, maxItems, oneOf, $ref to '#/…'. Any other keyword that constrains a value
// throws, so the spec cannot use one that would be silently ignored here.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { REPO_DIR } from './util.mjs';

export const SPEC_FILE = path.join(REPO_DIR, 'docs', 'openapi.yaml');
export const METHODS = ['get', 'head', 'post', 'patch', 'delete', 'options'];
const ANNOTATIONS = new Set(['description', 'format', 'example', 'default', 'title']);
const KNOWN = new Set(['type', 'nullable', 'enum', 'pattern', 'minimum', 'properties', 'required',
  'additionalProperties', 'items', 'minItems', 'maxItems', 'oneOf', '$ref', ...ANNOTATIONS]);

const typeOf = (v) => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
};

export function loadSpec(file = SPEC_FILE) {
  const doc = YAML.parse(fs.readFileSync(file, 'utf8'));

  /** The object a '#/a/b' reference names. */
  function resolve(ref) {
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
    let o = doc;
    for (const part of ref.slice(2).split('/')) {
      o = o?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      if (o === undefined) throw new Error(`unresolved $ref ${ref}`);
    }
    return o;
  }
  const deref = (o) => {
    while (o && o.$ref) o = resolve(o.$ref);
    return o;
  };

  /** Errors of `value` against `schema`, each naming its JSON path ($ is the root). */
  function validate(schema, value, at = '$', errors = []) {
    if (schema.$ref) return validate(resolve(schema.$ref), value, at, errors);
    for (const k of Object.keys(schema)) {
      if (!KNOWN.has(k)) throw new Error(`schema at ${at} uses "${k}", which the validator does not know`);
    }
    if (value === null) {
      if (!schema.nullable && schema.type !== undefined) errors.push(`${at}: null, but the schema is not nullable`);
      if (schema.oneOf === undefined) return errors;
    }
    if (schema.oneOf) {
      const matching = schema.oneOf.filter((s) => validate(s, value, at).length === 0).length;
      if (matching !== 1) errors.push(`${at}: ${JSON.stringify(value)} matches ${matching} of oneOf's ${schema.oneOf.length} schemas (exactly one must)`);
      return errors;
    }
    if (value === null) return errors;
    const t = typeOf(value);
    if (schema.type !== undefined) {
      const ok = schema.type === t || (schema.type === 'number' && t === 'integer');
      if (!ok) {
        errors.push(`${at}: expected ${schema.type}, got ${t} ${JSON.stringify(value)?.slice(0, 80)}`);
        return errors;
      }
    }
    if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    if (schema.pattern !== undefined && t === 'string' && !new RegExp(schema.pattern).test(value)) {
      errors.push(`${at}: ${JSON.stringify(value)} does not match /${schema.pattern}/`);
    }
    if (schema.minimum !== undefined && (t === 'integer' || t === 'number') && value < schema.minimum) {
      errors.push(`${at}: ${value} is below the minimum ${schema.minimum}`);
    }
    if (t === 'object') {
      const props = schema.properties || {};
      for (const r of schema.required || []) {
        if (!(r in value)) errors.push(`${at}: required member "${r}" is missing`);
      }
      for (const [k, v] of Object.entries(value)) {
        if (k in props) validate(props[k], v, `${at}.${k}`, errors);
        else if (schema.additionalProperties === false) errors.push(`${at}: member "${k}" is not in the schema (additionalProperties: false)`);
        else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          validate(schema.additionalProperties, v, `${at}.${k}`, errors);
        }
      }
    }
    if (t === 'array') {
      if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${at}: ${value.length} items, fewer than ${schema.minItems}`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${at}: ${value.length} items, more than ${schema.maxItems}`);
      if (schema.items) value.forEach((v, i) => validate(schema.items, v, `${at}[${i}]`, errors));
    }
    return errors;
  }

  /** Every documented [pathTemplate, method, status], and a 'x-405' entry per x-allow. */
  function operations() {
    const all = [];
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        for (const status of Object.keys(item[m].responses)) all.push([p, m, status]);
      }
      if (item['x-allow']) all.push([p, 'x-405', '405']);
    }
    return all;
  }

  const seen = new Set();
  const key = (p, m, s) => `${m.toUpperCase()} ${p} ${s}`;

  const header = (res, name) => {
    const v = res.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const norm = (ct) => (ct || '').toLowerCase().replace(/\s+/g, '');

  /** The documented content entry for a response's Content-Type, or a problem. */
  function contentFor(response, res) {
    const ct = header(res, 'Content-Type');
    const entries = Object.entries(response.content || {});
    const hit = entries.find(([k]) => norm(k) === norm(ct))
      || entries.find(([k]) => !k.includes(';') && norm(k) === norm(ct).split(';')[0]);
    return hit ? { schema: hit[1].schema } : { problem: `Content-Type ${ct} is not one of ${JSON.stringify(entries.map(([k]) => k))}` };
  }

  /** Checks one answer against the response `response` documents; returns problems. */
  function checkAgainst(response, res, method, what) {
    const problems = [];
    response = deref(response);
    for (const [name, h] of Object.entries(response.headers || {})) {
      const hh = deref(h);
      const v = header(res, name);
      if (hh.required && v === undefined) problems.push(`${what}: header ${name} is missing`);
      if (v !== undefined && hh.schema) {
        for (const e of validate(hh.schema, v, `header ${name}`)) problems.push(`${what}: ${e}`);
      }
    }
    if (method === 'head') return problems;
    if (!response.content) {
      if (res.text.length > 0) problems.push(`${what}: a body (${res.text.slice(0, 100)}) where none is documented`);
      return problems;
    }
    const c = contentFor(response, res);
    if (c.problem) {
      problems.push(`${what}: ${c.problem}`);
      return problems;
    }
    const ct = norm(header(res, 'Content-Type'));
    if (ct.startsWith('application/json')) {
      let body;
      try { body = JSON.parse(res.text); } catch (err) {
        problems.push(`${what}: the body is not JSON: ${res.text.slice(0, 200)}`);
        return problems;
      }
      for (const e of validate(c.schema, body)) problems.push(`${what}: ${e}`);
    } else if (c.schema && c.schema.type === 'string' && res.text.length === 0) {
      problems.push(`${what}: empty ${ct} body`);
    }
    return problems;
  }

  /**
   * Checks `res` (util.mjs request() result) as the answer of `method` on `pathTemplate`;
   * remembers the status as seen when it is documented. Returns a list of problems.
   */
  function check(pathTemplate, method, res) {
    const m = method.toLowerCase();
    const what = `${method.toUpperCase()} ${pathTemplate} → ${res.status}`;
    const op = doc.paths[pathTemplate]?.[m];
    if (!op) return [`${what}: no such operation in the spec`];
    const response = op.responses[String(res.status)];
    if (!response) return [`${what}: status not documented (documented: ${Object.keys(op.responses).join(', ')}); body ${res.text.slice(0, 200)}`];
    seen.add(key(pathTemplate, m, res.status));
    return checkAgainst(response, res, m, what);
  }

  /** A method `pathTemplate` does not take: 405, Allow = its x-allow, the error body. */
  function check405(pathTemplate, method, res) {
    const item = doc.paths[pathTemplate];
    const what = `${method} ${pathTemplate} (not in x-allow) → ${res.status}`;
    if (!item?.['x-allow']) return [`${what}: the path has no x-allow`];
    if (item[method.toLowerCase()]) return [`${what}: ${method} is documented for this path`];
    if (res.status !== 405) return [`${what}: expected 405; body ${res.text.slice(0, 200)}`];
    const problems = checkAgainst(doc.components.responses.MethodNotAllowed, res, method.toLowerCase(), what);
    if (header(res, 'Allow') !== item['x-allow']) problems.push(`${what}: Allow is "${header(res, 'Allow')}", the spec says "${item['x-allow']}"`);
    seen.add(key(pathTemplate, 'x-405', 405));
    return problems;
  }

  /** The request body schema of an operation (its only or application/json content). */
  function requestSchema(pathTemplate, method, type = 'application/json') {
    const op = doc.paths[pathTemplate][method.toLowerCase()];
    return op.requestBody?.content?.[type]?.schema;
  }

  /** Documented [path, method, status] that check() never saw, minus `allowed` keys. */
  function unseen(allowed = new Set()) {
    return operations().map(([p, m, s]) => key(p, m, s)).filter((k) => !seen.has(k) && !allowed.has(k));
  }

  return { doc, resolve, validate, operations, check, check405, requestSchema, unseen, key, seen };
}
