#!/bin/bash
# Runs one of Kafka's classes on the stand-in's jars, as the distribution's script of this name.
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.xml ${KAFKA_OPTS:-} \
    -cp '/opt/kafka/libs/*' "$@"
