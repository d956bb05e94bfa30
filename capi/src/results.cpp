#include "results.hpp"

#include <algorithm>
#include <cstring>

namespace clc {

void Events::add(uint64_t time, uint64_t client_id, uint32_t index, const void *record,
                 size_t length) {
    times_.push_back(time);
    client_ids_.push_back(client_id);
    indexes_.push_back(index);
    if (length > 0) {
        const char *bytes = static_cast<const char *>(record);
        records_.insert(records_.end(), bytes, bytes + length);
    }
    offsets_.push_back(records_.size());
}

void EventPages::next(size_t max_events, Events &page) {
    size_t stop = handed_ + std::min(max_events, events_.count() - handed_);
    page.reserve(stop - handed_);
    for (; handed_ < stop; ++handed_) {
        page.add(events_.time(handed_), events_.client_id(handed_), events_.index(handed_),
                 events_.record(handed_), events_.record_length(handed_));
    }
    if (done()) {
        events_ = Events();
        handed_ = 0;
    }
}

template <class T>
static void copy_array(T *destination, const std::vector<T> &source) {
    if (destination != nullptr && !source.empty()) {
        std::memcpy(destination, source.data(), source.size() * sizeof(T));
    }
}

void Events::export_to(uint64_t *times, uint64_t *client_ids, uint32_t *indexes, uint64_t *offsets,
                       void *records) const {
    copy_array(times, times_);
    copy_array(client_ids, client_ids_);
    copy_array(indexes, indexes_);
    copy_array(offsets, offsets_);
    if (records != nullptr && !records_.empty()) {
        std::memcpy(records, records_.data(), records_.size());
    }
}

void StringList::add(const std::string &text) {
    add(text.data(), text.size());
}

void StringList::add(const char *text, size_t length) {
    bytes_.append(text, length);
    offsets_.push_back(bytes_.size());
}

void StringList::export_to(uint64_t *offsets, void *bytes) const {
    copy_array(offsets, offsets_);
    if (bytes != nullptr && !bytes_.empty()) {
        std::memcpy(bytes, bytes_.data(), bytes_.size());
    }
}

}  // namespace clc
