// The reference for the per-event logging rate of the Python binding: the same work done by a
// plain C++ loop over chronolog::Client. Logs EVENTS records of SIZE bytes, one log_event call
// each, to a new story of a new chronicle, after WARMUP untimed events (a story's first events
// also set up the connection to its ChronoKeeper), and prints one line of numbers.
//
//   chronolog_log_rate CLIENT_CONFIG EVENTS SIZE [WARMUP]
//
// benchmarks/chronolog_measure.py runs it next to the Python loop.
#include <chronolog_client.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

int usage(const char *program) {
    std::fprintf(stderr, "usage: %s CLIENT_CONFIG EVENTS SIZE [WARMUP]\n", program);
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 4) {
        return usage(argv[0]);
    }
    chronolog::ClientConfiguration config;
    if (!config.load_from_file(argv[1])) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    long events = std::atol(argv[2]);
    long size = std::atol(argv[3]);
    long warmup = argc > 4 ? std::atol(argv[4]) : 100;
    if (events <= 0 || size < 1 || warmup < 0) {
        return usage(argv[0]);
    }

    chronolog::Client client(config.PORTAL_CONF);
    int status = client.Connect();
    if (status != chronolog::CL_SUCCESS) {
        std::fprintf(stderr, "Connect: %s\n", chronolog::to_string_client(status));
        return 1;
    }
    std::string chronicle = "log-rate-cxx-" + std::to_string(getpid());
    std::map<std::string, std::string> attributes;
    int flags = 0;
    client.CreateChronicle(chronicle, attributes, flags);
    auto acquired = client.AcquireStory(chronicle, "story", attributes, flags);
    if (acquired.first != chronolog::CL_SUCCESS) {
        std::fprintf(stderr, "AcquireStory: %s\n", chronolog::to_string_client(acquired.first));
        return 1;
    }
    chronolog::StoryHandle *story = acquired.second;

    std::string record(size_t(size), 'x');
    long failures = 0;
    for (long i = 0; i < warmup; ++i) {
        failures += story->log_event(record) == 0;
    }
    std::vector<double> latencies(static_cast<size_t>(events));
    Clock::time_point start = Clock::now();
    for (long i = 0; i < events; ++i) {
        Clock::time_point before = Clock::now();
        failures += story->log_event(record) == 0;
        latencies[size_t(i)] = seconds_between(before, Clock::now());
    }
    double elapsed = seconds_between(start, Clock::now());

    client.ReleaseStory(chronicle, "story");
    client.Disconnect();

    std::sort(latencies.begin(), latencies.end());
    auto percentile = [&](double p) { return latencies[size_t(p * double(events - 1))] * 1e6; };
    std::printf(
        "language=c++ events=%ld size=%ld seconds=%.3f rate=%.1f mean_us=%.1f p50_us=%.1f "
        "p99_us=%.1f failures=%ld\n",
        events, size, elapsed, double(events) / elapsed, elapsed / double(events) * 1e6,
        percentile(0.5), percentile(0.99), failures);
    return failures == 0 ? 0 : 1;
}
