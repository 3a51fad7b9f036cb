#!/usr/bin/env bash
# Start one Apache Kafka node (broker and KRaft controller) for docker-compose.yml.
#
# Listeners: CONTROLLER and INTERNAL use mutual TLS with the brokers' own certificate
# (principal User:CN=kafka-broker); CLIENT (in the compose network) and EXTERNAL (published
# to the host) take SASL/SCRAM-SHA-512 over TLS. Every client is authorised by literal ACLs
# (`hub deploy apply`); only the brokers and the hub-admin user are super users.
set -euo pipefail
: "${NODE_ID:?}" "${EXTERNAL_PORT:?}"
EXTERNAL_HOST="${EXTERNAL_HOST:-localhost}"
S=/run/secrets
umask 077
conf=/tmp/kafka/server.properties
mkdir -p /tmp/kafka
cat >"$conf" <<PROPS
process.roles=broker,controller
node.id=${NODE_ID}
controller.quorum.voters=1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listeners=INTERNAL://:9092,CONTROLLER://:9093,CLIENT://:9094,EXTERNAL://:9095
advertised.listeners=INTERNAL://kafka-${NODE_ID}:9092,CLIENT://kafka-${NODE_ID}:9094,EXTERNAL://${EXTERNAL_HOST}:${EXTERNAL_PORT}
listener.security.protocol.map=INTERNAL:SSL,CONTROLLER:SSL,CLIENT:SASL_SSL,EXTERNAL:SASL_SSL
ssl.keystore.type=PEM
ssl.keystore.location=$S/kafka-broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$S/kafka-ca.crt
listener.name.internal.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:CN=kafka-broker;User:hub-admin
auto.create.topics.enable=false
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
log.dirs=/var/lib/kafka/data
PROPS
# First start only: format the log directory and create the admin's SCRAM credential
# (SCRAM users can only be bootstrapped at format time in KRaft).
if [[ ! -f /var/lib/kafka/data/meta.properties ]]; then
  /opt/kafka/bin/kafka-storage.sh format --config "$conf" \
    --cluster-id "$(<"$S/kafka-cluster-id")" --ignore-formatted \
    --add-scram "SCRAM-SHA-512=[name=hub-admin,password=$(<"$S/kafka-admin-password")]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
