// The translation pipeline: uTLB -> L2 TLB -> page-walk cache + walkers, faults and stalls.
//
// Timing of one access issued at cycle t:
//   uTLB hit          done at t + utlb.latency
//   L2 TLB hit        done at t + utlb.latency + l2tlb.latency
//   walk              requested at t + utlb.latency + l2tlb.latency; starts when a walker is free;
//                     takes walk_cache_latency + (descriptor reads) * mem_read_latency
// Misses to a page with a walk in flight join that walk.
#include <fmt/format.h>

#include "mali_sim/gpu/gpu.hpp"

namespace mali_sim {

namespace {
std::uint64_t page_key(unsigned as, GpuVa va) { return ((va >> kPageShift) << 4) | as; }
}  // namespace

void Gpu::update_fast_path(unsigned as) {
  AddressSpace& a = as_[as];
  // An observer sees every TLB use, which the inline shortcut would skip.
  a.fast_path = observer_ == nullptr && spec_.has_as(as) && a.live.mode != TranslationMode::Unmapped &&
                !a.lock && !a.updating;
  // The uTLB memos answer access_hit() only while the fast path is open and their core powered
  // (an access on a core that is not is a fault, which access_slow() reports).
  for (unsigned c = 0; c < num_cores_; ++c) utlbs_[c].set_memo_enabled(as, a.fast_path && core_powered(c));
  utlbs_[jm_core_].set_memo_enabled(as, a.fast_path);  // the job manager's
}

void Gpu::set_observer(GpuObserver* observer) {
  observer_ = observer;
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) update_fast_path(as);
}

Gpu::StepResult Gpu::lookup(const AccessRequest& req, Cycle t) {
  const AddressSpace& a = as_[req.as];
  if (a.updating) return {Step::LockWait, t};  // the configuration it will use is not live yet
  if (a.live.mode == TranslationMode::Unmapped) return {Step::Unmapped, t};
  if (a.lock && a.lock->covers(req.va)) return {Step::LockWait, t};
  Cycle at = t + spec_.utlb.hit_latency;
  Tlb& utlb = utlbs_[req.core];
  const TlbEntry* e = utlb.lookup(req.as, req.va);
  bool from_l2 = false;
  if (e != nullptr) {
    ++counters_.utlb_hits;
  } else {
    ++counters_.utlb_misses;
    at += spec_.l2tlb.hit_latency;
    e = l2_.lookup(req.as, req.va);
    if (e == nullptr) {
      ++counters_.l2_misses;
      return {Step::NeedWalk, at};
    }
    ++counters_.l2_hits;
    utlb.insert(*e);
    from_l2 = true;
  }
  if (observer_ != nullptr) observer_->tlb_used(req, *e, from_l2);
  if (!e->allows(req.access)) return {Step::Fault, at, 0, WalkFault{MmuFaultKind::Permission, e->level}};
  return {Step::Done, at, e->translate(req.va)};
}

AccessResult Gpu::access_slow(const AccessRequest& req) {
  AccessResult r;
  r.request = req;
  if (req.core >= spec_.shader_cores || static_cast<unsigned>(req.access) > 3 ||
      req.as >= regs::kMaxAddressSpaces) {
    report(MisuseKind::BadAccessRequest, req.as, 0,
           fmt::format("access by core {} on AS{} ({} shader cores): request out of range", req.core, req.as,
                       spec_.shader_cores));
    ++counters_.accesses_failed;
    r.fail = FailReason::BadRequest;
    return r;
  }
  if (!spec_.has_as(req.as)) {
    report(MisuseKind::AsNotPresent, req.as, 0,
           fmt::format("access on AS{}: not in AS_PRESENT {:#x}", req.as, spec_.as_present));
    ++counters_.accesses_failed;
    r.fail = FailReason::AsNotPresent;
    return r;
  }
  if (control_.resetting()) {
    ++counters_.accesses_failed;
    r.fail = FailReason::Reset;
    r.done_at = queue_.now();
    return r;
  }
  if (!core_powered(req.core)) {
    // The driver sees it as a GPU fault (docs/fidelity.md, "GPU control"); the job manager will
    // fail the job with the same code.
    report(MisuseKind::AccessPoweredOff, req.as, 0,
           fmt::format("access by shader core {} (SHADER_PRESENT bit {}) on AS{}: the core is not powered "
                       "(SHADER_READY {:#x}); GPU fault JOB_POWER_FAULT",
                       req.core, core_bits_[req.core], req.as,
                       control_.power().ready(regs::PowerDomainId::kShader)));
    control_.record_fault(kExceptionJobPowerFault, req.va);
    ++counters_.accesses_failed;
    r.fail = FailReason::PoweredOff;
    r.done_at = queue_.now();
    return r;
  }
  ++counters_.accesses;
  return translate(req);
}

AccessResult Gpu::translate(const AccessRequest& req) {
  AccessResult r;
  r.request = req;
  const Cycle now = queue_.now();
  const StepResult s = lookup(req, now);
  switch (s.step) {
    case Step::Done: {
      if (req.core != jm_core_) ++counters_.accesses_done;
      r.status = AccessStatus::Done;
      r.done_at = s.at;
      r.pa = s.pa;
      return r;
    }
    case Step::Unmapped:
      if (req.core != jm_core_) ++counters_.accesses_failed;
      r.fail = FailReason::Unmapped;
      r.done_at = now;
      return r;
    default: break;
  }
  const std::uint32_t id = new_pending(req);
  r.status = AccessStatus::Pending;
  switch (s.step) {
    case Step::Fault: schedule_fault(id, s.at, s.fault); break;
    case Step::NeedWalk: request_walk(id, s.at); break;
    case Step::LockWait:
      ++counters_.lock_stalls;
      pending_[id].stalled_since = now;
      as_[req.as].lock_waiters.push_back(id);
      break;
    default: break;
  }
  return r;
}

std::uint32_t Gpu::new_pending(const AccessRequest& req) {
  std::uint32_t id;
  if (!free_pending_.empty()) {
    id = free_pending_.back();
    free_pending_.pop_back();
  } else {
    id = static_cast<std::uint32_t>(pending_.size());
    pending_.emplace_back();
  }
  Pending& p = pending_[id];
  p.req = req;
  p.stalled_since = 0;
  ++p.gen;
  p.live = true;
  return id;
}

// Re-issue a stalled access (after UNLOCK or a flush) at the current cycle.
void Gpu::run_pending(std::uint32_t id) {
  const AccessRequest req = pending_[id].req;
  const StepResult s = lookup(req, queue_.now());
  switch (s.step) {
    case Step::Done: complete(id, s.at, s.pa); break;
    case Step::Unmapped: fail(id, FailReason::Unmapped); break;
    case Step::Fault: schedule_fault(id, s.at, s.fault); break;
    case Step::NeedWalk: request_walk(id, s.at); break;
    case Step::LockWait:
      ++counters_.lock_stalls;
      pending_[id].stalled_since = queue_.now();
      as_[req.as].lock_waiters.push_back(id);
      break;
  }
}

void Gpu::schedule_fault(std::uint32_t id, Cycle at, const WalkFault& fault) {
  const std::uint32_t gen = pending_[id].gen;
  queue_.schedule(at, [this, id, gen, fault] {
    if (pending_[id].gen == gen && pending_[id].live) on_fault(id, fault);  // else failed meanwhile
  });
}

void Gpu::request_walk(std::uint32_t id, Cycle at) {
  const AccessRequest& req = pending_[id].req;
  ++as_[req.as].inflight;
  const std::uint32_t gen = pending_[id].gen;
  queue_.schedule(at, [this, id, gen] {
    if (pending_[id].gen != gen || !pending_[id].live) return;  // failed meanwhile (AS killed)
    const AccessRequest& rq = pending_[id].req;
    const std::uint64_t key = page_key(rq.as, rq.va);
    if (const std::uint32_t joined = walk_by_page_.find(key); joined != FlatIndex::kNone) {
      ++counters_.walks_merged;
      walks_[joined].waiters.push_back(id);
      return;
    }
    std::uint32_t w;
    if (!free_walks_.empty()) {
      w = free_walks_.back();
      free_walks_.pop_back();
    } else {
      w = static_cast<std::uint32_t>(walks_.size());
      walks_.emplace_back();
    }
    Walk& walk = walks_[w];
    walk.as = rq.as;
    walk.va = rq.va;
    walk.epoch = as_[rq.as].epoch;
    walk.requested_at = queue_.now();
    walk.waiters.assign(1, id);
    walk_by_page_.insert(key, w);
    if (busy_walkers_ < spec_.walkers) {
      begin_walk(w);
    } else {
      ++counters_.walks_queued;
      walk_queue_.push_back(w);
    }
  });
}

void Gpu::begin_walk(std::uint32_t w) {
  ++busy_walkers_;
  Walk& walk = walks_[w];
  counters_.walk_queue_cycles += queue_.now() - walk.requested_at;
  walk.epoch = as_[walk.as].epoch;
  WalkStart start;
  if (auto hit = walk_cache_.lookup(walk.as, walk.va)) {
    ++counters_.walk_cache_hits[hit->level];
    start = WalkStart{hit->level + 1U, hit->next_table};
    if (observer_ != nullptr) observer_->walk_cache_used(walk.as, walk.va, *hit);
  } else {
    ++counters_.walk_cache_misses;
  }
  // The descriptors are read when the walk starts; the result applies when it ends.
  const WalkResult result = mali_sim::walk(mem_, as_[walk.as].live, walk.va, start);
  ++counters_.walks;
  counters_.walk_reads += result.num_reads;
  const Cycle latency = spec_.walk_cache_latency + result.num_reads * spec_.mem_read_latency;
  queue_.schedule_in(latency, [this, w, result] { finish_walk(w, result); });
}

// The TLB entry a successful walk yields for an access to va.
TlbEntry Gpu::walk_entry(unsigned as, GpuVa va, const WalkResult& w, Cycle now) {
  const Translation& t = w.translation;
  const std::uint64_t span = bytes(t.size);
  TlbEntry e;
  e.va_base = align_down(va, span);
  e.pa_base = t.pa - (va - e.va_base);
  e.size = t.size;
  e.as = static_cast<std::uint8_t>(as);
  e.level = t.level;
  e.set_permissions(t.read, t.write, t.exec);
  e.attr_index = t.attr_index;
  e.memattr = t.memattr;
  if (w.num_reads > 0) {
    e.desc_pa = w.reads[w.num_reads - 1].pa;
    e.desc = w.reads[w.num_reads - 1].value;
  }
  e.filled_at = now;
  return e;
}

void Gpu::finish_walk(std::uint32_t w, const WalkResult& result) {
  --busy_walkers_;
  Walk& walk = walks_[w];
  walk_by_page_.erase(page_key(walk.as, walk.va));
  const unsigned as = walk.as;
  const GpuVa walk_va = walk.va;
  // A walk that began before an UPDATE of its AS fills no cache: the tables it read may be gone.
  const bool fresh = walk.epoch == as_[as].epoch;
  if (fresh) walk_cache_.fill(as, walk.va, result);
  std::vector<std::uint32_t> waiters;
  waiters.swap(walk.waiters);
  if (!spare_waiters_.empty()) {
    walk.waiters.swap(spare_waiters_.back());
    spare_waiters_.pop_back();
  }
  free_walks_.push_back(w);
  if (!walk_queue_.empty()) {
    const std::uint32_t next = walk_queue_.front();
    walk_queue_.pop_front();
    begin_walk(next);
  }
  const bool ok = result.outcome == WalkResult::Outcome::Ok;
  // Every waiter is in the walked page, so all share one entry, built from the walk's own VA.
  TlbEntry entry;
  if (ok && fresh) entry = walk_entry(as, walk_va, result, queue_.now());
  const std::uint64_t span = bytes(result.translation.size);
  // The entry goes into the L2 TLB once and into each waiting core's uTLB once: inserting it again
  // would change nothing but its use stamp, and nothing else is used in between.
  if (ok && fresh) l2_.insert(entry);
  std::uint64_t filled = 0;  // cores whose uTLB has the entry (GpuSpec allows at most 32)
  for (std::uint32_t id : waiters) {
    const AccessRequest req = pending_[id].req;
    switch (result.outcome) {
      case WalkResult::Outcome::Ok:
        if (fresh && (req.core >= 64 || ((filled >> req.core) & 1U) == 0)) {
          utlbs_[req.core].insert(entry);
          if (req.core < 64) filled |= std::uint64_t{1} << req.core;
        }
        if (auto f = check_access(result.translation, req.access)) {
          on_fault(id, *f);
        } else {
          const PhysAddr page = result.translation.pa & ~(span - 1);
          complete(id, queue_.now(), page + (req.va & (span - 1)));
        }
        break;
      case WalkResult::Outcome::Fault: on_fault(id, result.fault); break;
      case WalkResult::Outcome::Unmapped: fail(id, FailReason::Unmapped); break;
    }
    inflight_done(as);
  }
  waiters.clear();
  spare_waiters_.push_back(std::move(waiters));
}

void Gpu::on_fault(std::uint32_t id, const WalkFault& fault) {
  Pending& p = pending_[id];
  if (!p.live) return;  // failed meanwhile (AS killed)
  const unsigned as = p.req.as;
  AddressSpace& a = as_[as];
  if (a.live.mode == TranslationMode::Unmapped) {
    fail(id, FailReason::Unmapped);
    return;
  }
  ++counters_.fault_stalls;
  const std::uint32_t page_bit = regs::mmu_page_fault_bit(as);
  const std::uint32_t bus_bit = regs::mmu_bus_error_bit(as);
  // The first fault is recorded; while its interrupt bits are set, later faults only wait.
  if ((mmu_irq_.rawstat() & (page_bit | bus_bit)) == 0) {
    FaultStatus fs;
    fs.exception_type = fault.exception_code();
    fs.access_type = p.req.access;
    // A table read outside memory is a decode error: no slave answers the address.
    fs.decoder_fault = fault.kind == MmuFaultKind::TranstabBus;
    fs.source_id = p.req.core;
    a.regs.faultstatus = fs.encode();
    a.regs.faultaddress = p.req.va;
    ++counters_.faults[fs.exception_type];
    ++counters_.faults_recorded;
    mmu_irq_.raise(fault.kind == MmuFaultKind::TranstabBus ? bus_bit : page_bit);
    if (observer_ != nullptr) observer_->fault_recorded(as, p.req.va, a.regs.faultstatus);
  }
  p.stalled_since = queue_.now();
  a.fault_waiters.push_back(id);
}

void Gpu::complete(std::uint32_t id, Cycle at, PhysAddr pa) {
  Pending& p = pending_[id];
  AccessResult r;
  r.status = AccessStatus::Done;
  r.done_at = at;
  r.pa = pa;
  r.request = p.req;
  if (p.req.core != jm_core_) ++counters_.accesses_done;
  p.live = false;
  free_pending_.push_back(id);
  queue_.schedule(at, [this, r] { deliver(r); });
}

void Gpu::fail(std::uint32_t id, FailReason reason) {
  Pending& p = pending_[id];
  AccessResult r;
  r.status = AccessStatus::Failed;
  r.fail = reason;
  r.done_at = queue_.now();
  r.request = p.req;
  if (p.req.core != jm_core_) ++counters_.accesses_failed;
  p.live = false;
  free_pending_.push_back(id);
  queue_.schedule(r.done_at, [this, r] { deliver(r); });
}

void Gpu::deliver(const AccessResult& r) {
  if (r.request.core == jm_core_) {
    deliver_jm(r);
    return;
  }
  if (access_handler_) access_handler_(r);
}

}  // namespace mali_sim

namespace mali_sim {

void Gpu::jm_access(unsigned as, GpuVa va, Access access, std::uint32_t size, JobManager::AccessDone done) {
  std::uint32_t id = 0;
  if (!jm_free_.empty()) {
    id = jm_free_.back();
    jm_free_.pop_back();
    jm_done_[id] = std::move(done);
  } else {
    id = static_cast<std::uint32_t>(jm_done_.size());
    jm_done_.push_back(std::move(done));
  }
  AccessRequest req;
  req.va = va;
  req.cookie = id;
  req.size = size;
  req.core = static_cast<std::uint16_t>(jm_core_);
  req.as = static_cast<std::uint8_t>(as);
  req.access = access;
  AccessResult r;
  r.request = req;
  r.done_at = queue_.now();
  if (as >= regs::kMaxAddressSpaces || !spec_.has_as(as)) {
    r.fail = FailReason::AsNotPresent;
  } else if (control_.resetting()) {
    r.fail = FailReason::Reset;
  } else {
    r = translate(req);
  }
  if (r.status != AccessStatus::Pending) queue_.schedule(r.done_at, [this, r] { deliver_jm(r); });
}

void Gpu::deliver_jm(const AccessResult& r) {
  const auto id = static_cast<std::uint32_t>(r.request.cookie);
  if (id >= jm_done_.size() || !jm_done_[id]) return;
  JobManager::AccessDone done = std::move(jm_done_[id]);
  jm_done_[id] = nullptr;
  jm_free_.push_back(id);
  done(r);
}

}  // namespace mali_sim
