// Turns consumed messages into Requests on a thread of its own, so that the loop thread only
// polls and admits them.
//
// Why: the loop thread sets the connector's rate (docs/performance.md, "Fourth look": it is never
// idle at full load), and copying a message out of librdkafka (`to_request`, librdkafka's parse
// of the headers included) was 29 % of its instructions. That work needs nothing of the loop's
// state, so it runs here, in parallel with the loop's other work (answers, delivery reports).
//
// The Source hands over one batch at a time and polls the next one only once this one is back,
// so order is kept (one thread, first in first out) and what is polled but not yet admitted is
// one batch at most (kafka/source.h says how the in-flight bounds and rebalances account for it).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "fxconnect/message.h"
#include "kafka/client.h"

namespace fxconnect::kafka {

// A consumed record as a Request, and librdkafka's list of its headers (taken from the message,
// not copied; null when it had none).
struct Decoded {
  Request request;
  WireHeaders headers;
};

// One message as a Decoded (the message is left without its headers; destroy it next).
Decoded decode_message(rd_kafka_message_t& message);

class Decoder {
 public:
  // Called on the decoder's thread with each batch decoded (one Decoded per message, in order):
  // it must hand the batch to its owner's thread (e.g. post it to the loop) and return.
  using Done = std::function<void(std::vector<Decoded>)>;

  explicit Decoder(Done done);
  ~Decoder();  // stop()
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Queues `batch` for decoding (its messages are destroyed on the decoder's thread, once
  // copied). Any thread.
  void decode(std::vector<MessagePtr> batch);
  // Ends the thread: a batch being decoded is finished and handed to `done`; queued ones are
  // destroyed undecoded. Afterwards decode() destroys what it is given. Every message is
  // destroyed when this returns, so the consumer can be closed and destroyed.
  void stop();

 private:
  void run();

  Done done_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::vector<MessagePtr>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace fxconnect::kafka
