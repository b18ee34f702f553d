// The API's docs page: renders /api/v1/openapi.json with no third-party script (no CDN).
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function resolve(doc, schema) {
  if (schema && schema.$ref) return resolve(doc, doc.components.schemas[schema.$ref.split("/").pop()]);
  return schema || {};
}

function example(doc, schema, depth) {
  schema = resolve(doc, schema);
  if (depth > 4) return null;
  if (schema.anyOf) return example(doc, schema.anyOf[0], depth + 1);
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case "object": {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties || {})) out[k] = example(doc, v, depth + 1);
      return out;
    }
    case "array": return [example(doc, schema.items, depth + 1)];
    case "integer": return 0;
    case "number": return 0;
    case "boolean": return false;
    case "string": return schema.format || "string";
    default: return null;
  }
}

function parameters(op) {
  const rows = (op.parameters || []).map((p) =>
    el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in),
       el("td", {}, p.required ? "required" : ""), el("td", {}, p.description || "")));
  return rows.length ? el("table", {}, ...rows) : "";
}

function body(doc, op) {
  const content = (op.requestBody || {}).content || {};
  const [type, media] = Object.entries(content)[0] || [];
  if (!type) return "";
  return el("div", {}, el("p", {}, "Body (", el("code", {}, type), ")"),
            el("pre", {}, JSON.stringify(example(doc, media.schema, 0), null, 2)));
}

function answers(op) {
  const rows = Object.entries(op.responses || {}).map(([code, r]) =>
    el("tr", {}, el("td", {}, code), el("td", {}, r.description || ""),
       el("td", {}, Object.keys(r.content || {}).join(", "))));
  return el("table", {}, ...rows);
}

async function render() {
  const doc = await (await fetch("/api/v1/openapi.json")).json();
  const main = document.getElementById("operations");
  main.textContent = "";
  const groups = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      (groups[tag] = groups[tag] || []).push([method, path, op]);
    }
  }
  for (const [tag, ops] of Object.entries(groups)) {
    main.append(el("h2", {}, tag));
    for (const [method, path, op] of ops) {
      const scopes = (op.security || []).flatMap((s) => Object.values(s).flat()).join(" ");
      const summary = el("summary", {}, el("span", { class: `method ${method}` }, method.toUpperCase()),
                         el("code", {}, doc.servers[0].url + path), el("span", { class: "scope" }, scopes));
      const box = el("details", { "data-search": `${method} ${path} ${tag}`.toLowerCase() }, summary,
                     el("p", {}, op.description || op.summary || ""), parameters(op), body(doc, op), answers(op));
      main.append(box);
    }
  }
  document.getElementById("filter").addEventListener("input", (event) => {
    const words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const box of main.querySelectorAll("details")) {
      box.hidden = !words.every((w) => box.dataset.search.includes(w));
    }
  });
}

render();
