// The practical limit of this machine for a connector: the smallest librdkafka consume → produce
// loop with the settings fxconnect uses (idempotent producer, acks=all), copying key and headers.
// No parsing, no handler, no ordering, no commit bookkeeping (auto commit). scripts/bench.sh
// compares fxconnect's echo connector against it, in the same run.
//
//   raw_relay BOOTSTRAP INPUT_TOPIC OUTPUT_TOPIC GROUP      (stops on SIGTERM/SIGINT)
#include <librdkafka/rdkafka.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <utility>

namespace {

volatile std::sig_atomic_t g_stop = 0;

rd_kafka_conf_t* conf_with(const char* bootstrap, std::initializer_list<std::pair<const char*, const char*>> props) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err);
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "raw_relay: %s\n", err);
      std::exit(2);
    }
  }
  return conf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: raw_relay BOOTSTRAP INPUT_TOPIC OUTPUT_TOPIC GROUP\n");
    return 2;
  }
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  char err[512];
  rd_kafka_t* producer = rd_kafka_new(
      RD_KAFKA_PRODUCER, conf_with(argv[1], {{"enable.idempotence", "true"}, {"acks", "all"}}), err, sizeof err);
  rd_kafka_t* consumer = rd_kafka_new(
      RD_KAFKA_CONSUMER,
      conf_with(argv[1], {{"group.id", argv[4]}, {"auto.offset.reset", "earliest"}, {"enable.partition.eof", "false"}}),
      err, sizeof err);
  if (!producer || !consumer) {
    std::fprintf(stderr, "raw_relay: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, argv[2], RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);

  long relayed = 0;
  while (!g_stop) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    rd_kafka_poll(producer, 0);
    if (!m) continue;
    if (m->err) {
      rd_kafka_message_destroy(m);
      continue;
    }
    rd_kafka_headers_t* headers = nullptr;
    rd_kafka_headers_t* copy = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) copy = rd_kafka_headers_copy(headers);
    for (;;) {
      auto e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(argv[3]), RD_KAFKA_V_KEY(m->key, m->key_len),
                                 RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer, 10);
        continue;
      }
      if (e) {
        std::fprintf(stderr, "raw_relay: produce: %s\n", rd_kafka_err2str(e));
        if (copy) rd_kafka_headers_destroy(copy);
      }
      break;
    }
    ++relayed;
    rd_kafka_message_destroy(m);
  }
  rd_kafka_flush(producer, 10'000);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_destroy(producer);
  std::fprintf(stderr, "raw_relay: relayed %ld messages\n", relayed);
  return 0;
}
