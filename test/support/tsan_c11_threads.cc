// Linked into every executable of the ThreadSanitizer build (FXC_SANITIZE_THREAD), nowhere else.
//
// librdkafka 2.0.2 (Debian 12) starts and joins its threads with the C11 functions thrd_create
// and thrd_join. glibc implements them by calling its internal pthread functions directly, and
// GCC 12's TSan runtime intercepts pthread_create/pthread_join but not the C11 ones. So TSan
// never learns of librdkafka's threads: the first allocation on one of them crashes inside the
// TSan allocator (the thread has no TSan state; `fxconnect lint` segfaults on rdk:main), and
// nothing that runs on them (our log and error callbacks) would be checked.
//
// Defined here, in the executable, these two take precedence over glibc's for librdkafka's
// references, and go through pthread_create/pthread_join, which TSan intercepts: librdkafka's
// threads become ordinary TSan threads, created and joined with the happens-before edges those
// calls imply. librdkafka imports no other thrd_* function but thrd_current (pthread_self, no
// thread state needed). Behaviour is that of glibc's: the thread's int result, thrd_* codes.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {

struct Start {
  thrd_start_t function;
  void* argument;
};

void* run(void* p) {
  Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(start.function(start.argument)));
}

}  // namespace

extern "C" int thrd_create(thrd_t* thread, thrd_start_t function, void* argument) {
  auto* start = new (std::nothrow) Start{function, argument};
  if (!start) return thrd_nomem;
  int rc = pthread_create(thread, nullptr, &run, start);
  if (rc == 0) return thrd_success;
  delete start;
  return rc == ENOMEM ? thrd_nomem : thrd_error;  // glibc's mapping
}

extern "C" int thrd_join(thrd_t thread, int* result) {
  void* value = nullptr;
  if (pthread_join(thread, &value) != 0) return thrd_error;
  if (result) *result = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
  return thrd_success;
}
