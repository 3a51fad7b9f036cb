#!/usr/bin/env node
// A partner publishing from Node.js: KafkaJS, the Confluent schema registry client, and
// Node's own crypto for the Ed25519 signature (docs/partners/connect.md, "Signing").
// Used as it is by tests/sandbox/test_kafkajs.py, and printed by `hub sandbox --partner`.
//
//   node publish.mjs --bootstrap 127.0.0.1:9092 --registry http://127.0.0.1:8081 \
//     --topic partner.merseyside-police.safeguarding-concern.v1 --event sample.json \
//     --signing-key merseyside-police.k1.key --key-id merseyside-police/k1 [--count 5]
//
// Options a hostile or broken partner would use (the test's dead-letter cases):
//   --send-topic T   send to T (signed over T) although the schema is the --topic's
//   --pad FIELD:N    append N characters to the top-level text field FIELD (oversize)
//   --dump FILE      also write the last record as JSON, as `hub partner check-record` reads
//
// Prints one JSON line per record sent: {"topic": ..., "event_id": ...}.

import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { Kafka, logLevel } from "kafkajs";

const { values: opt } = parseArgs({
  options: {
    bootstrap: { type: "string" },
    registry: { type: "string" },
    topic: { type: "string" },
    "send-topic": { type: "string" },
    event: { type: "string" },
    "signing-key": { type: "string" },
    "key-id": { type: "string" },
    count: { type: "string", default: "1" },
    pad: { type: "string" },
    dump: { type: "string" },
  },
});
for (const name of ["bootstrap", "registry", "topic", "event", "signing-key", "key-id"]) {
  if (!opt[name]) throw new Error(`--${name} is required`);
}

// The signed message: a domain string, then topic, key and value, each as a 4-byte
// big-endian length (-1 for null) followed by the bytes (hub/identity/signing.py).
const DOMAIN = Buffer.from("partner-data-hub/record-signature/v1");
function part(bytes) {
  const length = Buffer.alloc(4);
  if (bytes === null) {
    length.writeInt32BE(-1);
    return length;
  }
  length.writeInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
function signatureHeaders(privateKey, keyId, topic, key, value) {
  const message = Buffer.concat([DOMAIN, part(Buffer.from(topic)), part(key), part(value)]);
  return {
    "hub.sig": sign(null, message, privateKey).toString("base64"),
    "hub.sig.key": keyId,
  };
}

const privateKey = createPrivateKey(readFileSync(opt["signing-key"]));
const registry = new SchemaRegistry({ host: opt.registry });
// The hub registered every catalogue schema under <topic>-value (TopicNameStrategy).
const schemaId = await registry.getLatestSchemaId(`${opt.topic}-value`);
const template = JSON.parse(readFileSync(opt.event, "utf8"));
const destination = opt["send-topic"] || opt.topic;

const kafka = new Kafka({
  clientId: "partner-nodejs",
  brokers: [opt.bootstrap],
  logLevel: logLevel.WARN,
});
// idempotent: false -- the embedded broker answers KafkaJS's InitProducerId with an
// unexpected error (docs/operators/running.md, the embedded broker's limits). Against Apache Kafka an
// idempotent producer is recommended; the hub deduplicates by event id either way.
const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
await producer.connect();
try {
  let last = null;
  for (let i = 0; i < Number(opt.count); i++) {
    const event = structuredClone(template);
    event.envelope.event_id = randomUUID(); // each record is a new event
    if (opt.pad) {
      const [field, n] = opt.pad.split(":");
      event[field] = String(event[field] ?? "") + "x".repeat(Number(n));
    }
    const key = Buffer.from(event.envelope.event_id);
    const value = await registry.encode(schemaId, event);
    const headers = signatureHeaders(privateKey, opt["key-id"], destination, key, value);
    await producer.send({ topic: destination, acks: -1, messages: [{ key, value, headers }] });
    last = { topic: destination, key, value, headers };
    console.log(JSON.stringify({ topic: destination, event_id: event.envelope.event_id }));
  }
  if (opt.dump && last) {
    const doc = {
      topic: last.topic,
      key: last.key.toString(),
      value_base64: last.value.toString("base64"),
      headers: Object.entries(last.headers),
    };
    writeFileSync(opt.dump, JSON.stringify(doc, null, 2) + "\n");
  }
} finally {
  await producer.disconnect();
}
