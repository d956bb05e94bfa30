// Objects the library hands to callers: replay results and lists of strings. Each keeps its
// data in a few flat arrays so that exporting it is a handful of memcpy calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "handle_table.hpp"

namespace clc {

class Events : public Object {
public:
    Events() : offsets_{0} {}

    void add(uint64_t time, uint64_t client_id, uint32_t index, const void *record, size_t length);
    void reserve(size_t count) {
        times_.reserve(count);
        client_ids_.reserve(count);
        indexes_.reserve(count);
        offsets_.reserve(count + 1);
    }

    size_t count() const { return times_.size(); }
    size_t record_bytes() const { return records_.size(); }
    bool empty() const { return times_.empty(); }
    uint64_t time(size_t i) const { return times_[i]; }
    uint64_t client_id(size_t i) const { return client_ids_[i]; }
    uint32_t index(size_t i) const { return indexes_[i]; }
    const char *record(size_t i) const { return records_.data() + offsets_[i]; }
    size_t record_length(size_t i) const { return size_t(offsets_[i + 1] - offsets_[i]); }

    // Arrays may be null to skip them; records_cap is checked by the caller.
    void export_to(uint64_t *times, uint64_t *client_ids, uint32_t *indexes, uint64_t *offsets,
                   void *records) const;

private:
    std::vector<uint64_t> times_;
    std::vector<uint64_t> client_ids_;
    std::vector<uint32_t> indexes_;
    std::vector<uint64_t> offsets_;
    std::vector<char> records_;
};

// Events handed out page by page, in order; their memory goes with the last page.
class EventPages {
public:
    EventPages() = default;
    explicit EventPages(Events events) : events_(std::move(events)) {}

    bool done() const { return handed_ == events_.count(); }
    // Appends the next events, at most max_events, to page.
    void next(size_t max_events, Events &page);

private:
    Events events_;
    size_t handed_ = 0;
};

class StringList : public Object {
public:
    StringList() : offsets_{0} {}

    void add(const std::string &text);
    void add(const char *text, size_t length);

    size_t count() const { return offsets_.size() - 1; }
    size_t total_bytes() const { return bytes_.size(); }
    void export_to(uint64_t *offsets, void *bytes) const;

private:
    std::vector<uint64_t> offsets_;
    std::string bytes_;
};

}  // namespace clc
