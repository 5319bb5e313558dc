//! Trace validation: is a recorded run a behaviour of the model, and if not, where did it leave?
//!
//! # How the search works
//!
//! A trace is a sequence of items: events (labels of model steps) and observations (facts about
//! the state). The search keeps a *frontier*: the model states (deduplicated by a canonical
//! fingerprint) in which a behaviour can be right after explaining the items so far, each with
//! one path from the initial state (a parent link per state). For the current item it
//! explores the frontier's *closure*:
//!
//! - a step whose labels are all of kinds the trace does not log completely may happen unlogged:
//!   the new state stays at the same item;
//! - a step whose labels match the next items in order (unlogged labels may be skipped) moves
//!   the new state past those items; a step with a label of a completely logged kind that does
//!   not match is not allowed;
//! - an observation is consumed by every state that satisfies it.
//!
//! Items are read one at a time, with a few items of lookahead for steps that have several
//! labels, so memory does not grow with the length of a trace beyond the frontier and the
//! parent links.
//!
//! # Verdicts
//!
//! Validation runs on the *permissive* model: the trace's configuration with every seeded bug
//! enabled. Seeded bugs are alternative steps, so the permissive model contains every correct
//! behaviour and the buggy ones. A trace that only buggy behaviours explain breaks the property
//! the bug breaks: once every explanation of the prefix violates a property `P` (properties are
//! sticky: they record the breaking step), the verdict is *violates P at that item*. If some
//! explanation of the whole trace keeps every property, the trace *conforms*. If no behaviour
//! explains an item, the trace *diverges* there, and the report shows the explained prefix,
//! the candidate states and what the model would have allowed instead. If a bound stopped the
//! search (`max_hidden`, `max_frontier`, `timeout`, `max_memory`) before it proved one of
//! these, the verdict is *inconclusive* and says at which item: a bound never turns into a
//! verdict it did not prove. Only "conforms" survives a cut search, because it rests on one
//! explanation that was found.
//!
//! # Why the reductions keep the verdicts
//!
//! Restate logs no individual append, so a real run leaves appends, their stores and their
//! replies unlogged; every interleaving of them is a different model state, and holding all of
//! them is exponential in the number of appends. Three reductions make it polynomial.
//!
//! **1. The frontier keeps entry states only.** A state `b` that an unlogged path reaches from
//! another state `a` at the same item is *subsumed* by `a`: every continuation of `b` is one of
//! `a` (take the path first), and because properties are sticky, if `b` keeps a property so
//! does `a`, and if `a` breaks it so does `b`. So "some explanation keeps every property",
//! "every explanation breaks P" and "no explanation is left" are the same whether or not `b`
//! is held. The frontier at an item therefore holds the states right after a step explained
//! the previous item; the unlogged steps before the next item are explored transiently.
//!
//! **2. Stubborn sets: unlogged steps only when needed.** In a state `s` before item `j`, the
//! search only takes the unlogged steps of a *stubborn set* `T` ([`reduce`]): `T`
//! contains every step that may explain item `j` (for an observation, every step that writes
//! what it reads), and is closed under dependence (a step that does not commute with a member)
//! and enabling (a step that may enable a disabled member), over the steps that can still
//! happen. Take any path `s -t1..tn-> s' -c-> t` where `c` explains item `j` and `t1..tn` are
//! unlogged. `c` is in `T`, so let `u` be the first step of the path in `T`. Every step before
//! `u` is outside `T`, so it commutes with `u` and cannot enable it: `u` can be taken first and
//! the rest of the path still leads to the same state (a step `u` absorbs, such as a reply the
//! drain makes stale, is simply dropped). By induction on the path length, the search reaches
//! `c(s'')` for a state `s''` from which the steps postponed past `c` lead to `t`: `c(s'')`
//! subsumes `t` (reduction 1). Only steps whose labels are all unlogged are ever postponed,
//! so they stay unlogged after `c`, and the pruning by upcoming observations (tails and seal
//! flags never move back) is monotone along the postponed steps, so it cuts nothing the
//! unreduced search keeps. The dependences are written per group of steps (`Class`) as the
//! state each reads and writes; the exceptions are argued where they are declared: a store
//! request commutes with a new append (a new, higher offset does not change which store is
//! next on a connection); an Ok reply for an append past the sequencer's known global tail only
//! records who answered, so it commutes with other replies and with acknowledgements (which
//! appends are acknowledged depends on the set of replies, not their order) and with the drain
//! (it cancels the append; the reply then goes stale), as long as the labels it may gain or
//! lose (`store-reply`, `append-acked`, `append-rejected`) are unlogged; a delivered store
//! only adds its reply to the channel, which no step that takes replies out (a reply's
//! delivery, the early ack, the drain and the stale replies they drop) reads; a Sealed reply
//! no seal task will ever count (its task ended, a later `seal()` call runs, or the task no
//! longer waits on that member: a member never becomes pending again and calls only count up)
//! is its own class whose delivery only takes it out of the network.
//! `checker/tests/validate_reduce.rs` checks every declared independence and every enabling
//! relation on every reachable state of several scenarios, seeded bugs included.
//!
//! The argument needs only that the first step `u` of the path in `T` commutes with the steps
//! before it and is not enabled by them; two refinements of the closure keep that and make `T`
//! much smaller on long pipelines:
//!
//! - *Necessary enabling sets.* A disabled member needs in `T` only steps one of which must
//!   come before it on any path, not every step that may enable it. While a store to server
//!   `i` is in flight, a store a new append sends to `i` carries a higher offset, and stores
//!   to one server are delivered in offset order: it cannot be delivered before the store in
//!   flight leaves the network, by its delivery (the member itself), its loss or a crash (both
//!   already in `T` by dependence). So `Append` does not join `T` as an enabler of
//!   `DeliverStore(i)` then (a find-tail reader's repair stores may go lower, so they keep the
//!   edge).
//! - *Dormant classes.* A class disabled in `s` that only steps of `T` can enable cannot occur
//!   on a path of steps outside `T` before `u`, so neither its dependence with a member nor its
//!   enabling of one matters. The closure sets such classes aside and lets them join only if a
//!   class outside `T`, enabled in `s` or transitively enabled by such, may enable them.
//!
//! The searches also pass over, without computing the successor, a step outside `T` whose
//! class can only label it with kinds the window does not hold (an Ok reply past the known
//! global tail; a stale Sealed reply): such a step could only be taken as an unlogged step,
//! and `T` leaves it out. `checker/tests/reductions_agree.rs` compares the verdict, its item
//! and its property with and without the reductions on random behaviours of twelve scenarios
//! (seeded bugs included), logged the way a recorded Restate run is, and on their mutants.
//!
//! **Store replies in batches.** An Ok store reply for an append still in flight that neither
//! acknowledges nor resolves anything is *silent*: it only sets the bit of the server that
//! answered. Nothing reads that bit before the append is the head (at the sequencer's known
//! global tail) and its quorum completes: acknowledgements go in offset order, the drain, a
//! rejection by Sealed answers and the sequencer's crash only change statuses (the reply then
//! goes stale and is dropped, and the bits of resolved appends are cleared from the
//! fingerprint), and observations, properties and the other steps read tails, statuses and
//! stores, never these bits. So, on any unlogged path, each silent delivery can be moved right
//! until just before the delivery that completes its append's quorum, or past the end of the
//! path (the end state then still holds the reply, and subsumes the path's end state by
//! delivering it: reduction 1). The searches therefore never take a silent reply on its own:
//! where the silent replies for the head come from enough servers, one move delivers them (in
//! model order, one per server) until the head is acknowledged; the Explorer path lists each
//! delivery. The stubborn set is chosen from the moves, with the batch's first reply standing
//! for it, so a head that still lacks replies counts as disabled and pulls in the stores that
//! may enable it. The seeded early acknowledgement is the one other step that reads the head's
//! bits (it needs one answer, and fewer than a quorum): under it, a second move delivers the
//! first silent head reply and acknowledges early (replies it would also have delivered first
//! only set bits that the acknowledgement makes dead). This holds while a delivery's labels
//! are unlogged: the batches are off where `store-reply` is logged completely or in the
//! lookahead, and for a complete run, whose explanations must end in terminal states (a reply
//! whose quorum never completes is still delivered there). Without batches, every interleaving of replies with the other unlogged
//! steps is a different frontier state; a loaded cluster's loglet held 761,450 of them at one
//! item, and with batches the depth-first search finds its explanation in 0.4 s.
//! `checker/tests/reductions_agree.rs` checks the batches with the other reductions.
//!
//! **3. Canonical states.** States are deduplicated by a fingerprint with data cleared that no
//! later step, label, observation or property reads: reply bits of resolved appends, which
//! node a history fact names, the known global tail in a Sealed reply (never above the
//! sequencer's own, so taking the maximum changes nothing), and, when no server can ever
//! receive a store past its local tail (no losses, crashes or operator moves left, every
//! append sent to the whole nodeset), the known global tails servers hold and requests carry:
//! they only decide whether such a store is out of bounds. Two states with the same
//! fingerprint have the same futures, so either one may stand for both.
//!
//! **Dominated explanations.** Six facts of a behaviour's history are marks that no step,
//! label or observation reads: a record stored while Provisioning, one stored after a seal, a
//! tail moved back, a known global tail lowered, an append acknowledged without a write quorum,
//! a seeded-bug step taken ([`reduce::Marks`]). Only the `always` properties read them, and
//! the search's note on explanations that need a seeded bug. Two states that differ only in
//! their marks ("twins") have the same steps and labels forever after, and a step sets the same
//! marks in both, so every continuation of one is a continuation of the other, and the twin
//! whose marks are a subset of the other's ends with a subset of its marks. The breadth-first
//! search keeps only that one: a state whose twin with a subset of its marks was met in the same
//! closure is dropped, and in a layer of the next items a state takes the place of the twins it
//! dominates. The verdicts stay: an explanation that keeps every property is dropped only for
//! a twin that keeps them too; every state of a layer breaks a property exactly when every
//! dominating state does (the one dropped breaks at least what its twin breaks), so the
//! properties every explanation breaks are the same; and a layer in which only seeded-bug
//! explanations are left stays so. Measured on the permissive model (which takes seeded-bug
//! steps to tell violations from divergences): steady-load-short 0_2 without its
//! `seal-assist-started` held 14,298 states at item 9, of which 8,706 had taken a seeded bug,
//! 5,560 of those with a clean twin; deciding that mutant went from 19 s to 12.7 s.
//!
//! **Tails that move back.** No step of the model, seeded bugs included, lowers a log
//! server's local tail or clears its seal flag, and no tail passes the scenario's appends
//! (reduction 4 rests on the same facts); a member a seal outcome reports `S` answered Sealed,
//! which a log server does only once its flag is set. So the first item `d` that sees a
//! server's tail lower than an earlier item saw it or past the appends (or a seal's
//! `max_local_tail` past them: it is one of its confirmations' tails), or its flag cleared
//! after an earlier item saw it set or a seal outcome reported it `S`, is explained by no
//! behaviour together with the items before it. If the depth-first search explains
//! `items[..d]` cleanly, the trace diverges exactly at `d`, for the reason the abstract tails
//! below give: not a violation (a clean explanation of the items before it exists) and not
//! earlier. This decides such a rejection on any trace, sealer and sequencer on one node
//! included, where the breadth-first search of a loaded loglet may stop at a bound long
//! before `d`. Otherwise the search goes on as before. `checker/tests/backward.rs` compares it with the breadth-first search on every
//! such mutant of the recorded traces.
//!
//! The same holds for logged steps that bound each other: a seal task (the harness's,
//! another node's, a find-tail reader's) ends only after it started, a log server comes back
//! only from a crash, and it crashes only while it runs. Where those starts, crashes and
//! restarts are logged completely, an item that ends more tasks of its kind than the items
//! before it started, a `restarted` of a server no `crashed` took down, or a second `crashed`
//! with no `restarted` between, is explained by no behaviour and is decided the same way
//! (steady-load-short's 0_0 without its `other-seal-started` or its `crashed`: inconclusive
//! at 60 s before, decided at once).
//!
//! **Tails only a seeded bug raises.** Without cluster roles no tail repair runs, and a sealed
//! log server answers every store `Sealed` without storing it: only the seeded
//! `store-after-seal` raises a sealed server's tail, and it breaks *a durably sealed log
//! server accepts no new record* for good. So at the first item `d` that sees a server's
//! tail above the tail an earlier item saw it sealed with, every behaviour that explains the
//! items up to `d` has broken that property. If the depth-first search explains `items[..d]`
//! cleanly (no earlier verdict: a clean explanation of the items before exists) and a
//! depth-first search of the permissive model whose only seeded-bug steps are that server's
//! stores past its seal explains `items[..=d]` (one explanation exists), the trace violates
//! the property exactly at `d`, the verdict the breadth-first search gives where it finishes
//! (`checker/tests/backward.rs`). On steady-load-short's 0_0, where that search stops at its
//! third item, such a mutant (a member seen sealed one record short, then with it) went
//! from inconclusive at 60 s to decided in 4 ms.
//!
//! **Storage states only `--force` reaches.** Only a log server provisioning itself
//! (Provisioning -> ReadWrite) and the operator change a storage state, and without
//! `--force` the operator moves only Provisioning -> Disabled and ReadWrite <-> ReadOnly. So
//! without it a log server that left Provisioning (its `provisioned` item, an observation of
//! another state) or never was Provisioning never looks Provisioning again
//! (`storage.rs`: a per-server over-approximation of the states reachable, guard
//! and budget of the operator ignored). The first item that needs it (another `provisioned`,
//! a seal refused because every member looked Provisioning, an observation of a state not
//! reachable) is explained by no behaviour with the items before it, and is handled as a tail
//! that moves back: a divergence right there once the depth-first search explains the items
//! before it cleanly. This is what decides the second pass of a trace whose operator moves
//! are unknown (a forced move nobody logged): the breadth-first search held about two million
//! states of crashes and legal moves before the first item of `incident-forced`'s server logs
//! and took over three minutes. `checker/tests/backward.rs` compares it with the
//! breadth-first search on mutants of every recorded trace.
//!
//! **Growing traces.** `sealcheck follow` validates a loglet again each time its logs grow; a
//! conforming depth-first explanation keeps its last state, and the grown trace is searched
//! from there when its earlier items and header are the same but for more appends
//! (`extend.rs` argues why that explanation is then one of the grown trace; only "conforms"
//! comes from it, anything else validates from the start).
//!
//! **Abstract tails.** In a cluster the find-tail reader reads the known global tails the log
//! servers hold, so those tails, and the ones every store, seal request and reply carries, stay
//! in the state (reduction 3 cannot clear them), and they multiply the explanations of a run of
//! unlogged appends: each store carries the sequencer's tail at the moment it was sent. On
//! steady-load-short's 0_2 the breadth-first layer at item 9 held 5,592 clean states, 176 once
//! those tails are left out. So, for a cluster trace the depth-first search could not explain,
//! validation first searches an over-approximation of the model
//! ([`sealcheck_model::SealModel::with_abstract_tails`]): every step ends by clearing those
//! tails, a reader may decide with any known global tail from 0 to a bound no tail exceeds (the
//! appends made, the highest local tail, the sequencer's and the admin's tails), and a store
//! whose answer would depend on the tail its server knew (past its local tail, within the
//! bound) stops the abstract search, which then decides nothing. Every behaviour of the model
//! maps to one of the abstract model's with the same labels and observations (the sequencer's
//! own tail, which observations read, stays exact), so an item no abstract behaviour reaches,
//! no behaviour reaches. The abstract search runs without pruning by later observations, so
//! its rejection at item `d` means no abstract behaviour explains `items[..=d]`. If the
//! depth-first search explains `items[..d]` cleanly on the model itself, the verdict is exact:
//! the trace diverges at `d` (not a violation: a clean explanation of the items before it
//! exists, and nothing explains item `d`, with seeded-bug steps or without). In every other
//! case (a violation, the end of the trace, a stopped search, no clean explanation of the items
//! before `d`) the breadth-first search of the model decides, as before. The reducer gives a
//! reader's decisions in the abstract model the bound's inputs as reads.
//! `checker/tests/abstract_tails.rs` checks on every mutant of cluster traces that the verdict,
//! item and property are those without it. Measured: 0_2 without its `seal-assist-started`,
//! 63 s before this session, 1.2 s.
//!
//! **4. Pruning by later observations.** Tails and seal flags never move back (no step, seeded
//! bugs included, lowers a tail or clears a flag), and a tail never passes the scenario's
//! number of appends (offsets are below it). So a state whose server already has a higher tail
//! or a set flag where an observation in the lookahead sees less, or where an earlier
//! observation in the lookahead forces more than a later one allows, explains no continuation
//! that reaches that observation. Logged seal events bound each other: a `seal-completed` needs
//! a running task or a `seal-started` before it, reports a tail no lower than every server had
//! when that `seal-started` sent the requests, and `sequencer-sealed` needs a `seal-completed`
//! before it, or a state whose harness already succeeded (the step that reached the state may
//! carry the `seal-completed` the lookahead no longer holds; a single client's sequencer drains
//! only after its own task succeeded; a
//! cluster's remote sequencer may learn the seal from a store answered Sealed first, so there
//! the rule waits until every append is made and resolved without one). Within the items
//! before a logged event that may send a store or a seal request (`append`, `seal-started`,
//! `seal-request-resent`, and in a cluster `seal-assist-started`, `tail-repair-started`; a
//! find-tail reader that may still assist or repair unlogged lifts the bounds), unlogged steps alone
//! bound what is reachable: a server's tail reaches at most the offset after the highest store
//! in flight to it, or the number of appends if appends may still happen unlogged; its flag is
//! set only by a Seal request in flight to it, one the running task may re-send to it, or a
//! seal the harness may still start unlogged. States beyond these bounds are dropped. Dropping
//! them keeps every explanation of the whole trace, so "conforms" is exact; but a dropped state
//! may have explained some items before it dies, so a rejection at item `d` is exact only if no
//! observation after `d` dropped anything. Otherwise the search localizes: whether
//! `items[..=m]` is rejected is monotone in `m` and decided exactly by a search of that prefix
//! alone (first the depth-first search for one clean explanation, then the breadth-first
//! search pruning only by items of the prefix), so a binary search over `m` from `d` finds the
//! first item no explanation survives (it probes `d` itself first: pruning usually only
//! hastens the end of explanations that die at `d` anyway). When a bound stops a probe, the
//! trace is still known to be rejected (pruning kept every explanation of the whole trace, and
//! none survived, or every one left breaks a property, which stays broken): the verdict is
//! `rejected` between the lowest item not yet excluded and the highest, never "inconclusive"
//! and never an item the search did not prove. A prefix is rejected when no behaviour explains it or
//! every explanation breaks one property in common; a prefix whose explanations all break
//! properties, but not one in common, is not (the items after it may leave only explanations
//! that break one, and the verdict is where they do), and an `eventually` property is judged
//! only at the end of a complete run, never at the end of a prefix. Both keep the predicate
//! monotone (explanations only narrow as `m` grows, and properties are sticky). Its report
//! shows the explanation of the items before it that the depth-first search found.
//! Observations of storage states need no unlogged step at all when `provisioned` and
//! `storage-state-set` are logged completely: only those steps change storage states (a
//! refused provisioning changes nothing), so the empty set is a stubborn set for them.
//! Provisioning is never re-entered but by a forced operator move, and views only move to
//! newer configurations: once a member looks other than Provisioning in the client's view and
//! in every newer configuration, and no forced move is left, a refusal for all-Provisioning
//! members ahead (`seal-rejected` for that reason, `other-seal-refused`) can no longer happen;
//! and a log server provisions itself only from Provisioning, so once it is other than
//! Provisioning in the latest configuration and no forced move is left, a `provisioned` of it
//! ahead can no longer happen either.
//!
//! **Seal tasks of other nodes** (`faults.other_seals`: auto-improvement, failover,
//! auto-recovery and shutdown seals) take part in every rule above as one class of steps. A
//! start reads the client's snapshot and the stamped known global tail and sends Seal to the
//! effective nodeset; a completion reads which members serve sealed; both count in the tasks'
//! counters, which the sequencer's check reads (a completed task is a reason for any sequencer
//! to look for the seal, so with such tasks a single client's sequencer may also learn of a
//! seal and drain without its own task). The pruning keeps to that: `sequencer-sealed` no
//! longer needs a `seal-completed` before it, a server's flag may be set by a task still to
//! start unlogged, a logged `other-seal-started` may send Seal requests, and a completion's
//! `S` members are sealed from there on. Tail repairs of other find-tail readers
//! (`faults.other_repairs`) read and write what the model's reader does and belong to its
//! class; one that may still start unlogged lifts the tail bound the same way, and a logged
//! `other-repair-started` may send stores. A reader's failed request to the live sequencer
//! (`faults.reader_timeouts`, never logged) is a class of its own: it reads and writes only the
//! reader's state (whether the sequencer is silent, the budget) and reads the sequencer's
//! phase, and it enables only the reader's steps; while its budget lasts, a reader may still
//! run, which lifts the bounds as a crash or a timeout left does.
//!
//! **The depth-first order.** The depth-first search tries the steps that explain the next
//! item before unlogged ones, except before an item that starts a seal task (`seal-started`,
//! `other-seal-started`, `seal-assist-started`): there it tries unlogged steps first, so that
//! the appends and stores in flight land before the seal, as they usually do in a real run.
//! A crash is tried after every other unlogged step, unless the next item is the restart of
//! that server, when it is tried first: a crash spends a budget that a restart ahead may need
//! (logs without operator records leave every crash unlogged, one per restart; a loaded
//! loglet with one restart at its end took 3 ms this way and ran past the depth-first budget
//! without it). A crash of a server that a later `restarted` needs down, that an observation
//! saw up before, and that no observation sees again before that restart is *due*: from the
//! item after that last observation on, it is tried before any other unlogged step, so that it
//! lands where a node killed between two snapshots would, before the appends that follow send
//! it stores (a crash drops what is in flight to the server; what is sent after it waits for
//! the restart). Tried only right before the restart, it drops the stores of every append made
//! in between, and a later tail of the server needs them: `steady-load-2`'s log 1 imported
//! without operator records (169 model offsets, one restart) was inconclusive at 120 s that way
//! and conforms in 12 ms with the due crash first. A server no observation saw keeps the usual
//! order: with server logs alone (no snapshots) the crash-first order from the first item sent
//! the search for a forced move nobody logged past its budget on four forced incidents.
//!
//! The depth-first search only explores behaviours that take no seeded-bug step, so it can
//! also drop states that only a seeded bug could still carry to an item ahead: a sealed log
//! server's tail stays where it is (it answers stores `Sealed`; only a tail repair, whose
//! stores pass the seal, or the seeded `store-after-seal` raise it), and a harness
//! `seal-completed` ahead that reports a tail is dead once the running task (or, before the
//! `seal-started` right ahead, the task to come) cannot report it: the task already heard a
//! higher tail, a pending member the item reports `S` can only answer with a higher one (an
//! answer in flight carries the tail it was sent with, a future one at least the server's tail
//! now), or no member at all can answer with exactly that tail (the outcome's tail also counts
//! the answers of the call that leave the network as the task ends, from members it did not
//! count)
//! (`prune::completion_may_match`, `prune::clean_tail_stuck`). Both only cut branches with no
//! clean explanation, so they change which explanation is found first, never a verdict.
//! Without them `steady-load-2`'s loglet 0_4 (17 model offsets, a seal completed on N2 and N3
//! four mapped offsets past the last snapshot, then N1 seen sealed at the tail) ran past the
//! depth-first budget, whose first explanation had sealed N1 before its stores landed, and
//! then 120 s in the breadth-first search; it conforms in 1 ms now. The order only decides which explanation is found first (and how soon); every
//! state is still searched, up to the same budget, so no verdict changes with it. On a loaded
//! cluster's loglet sealed by two nodes 9 ms apart the old order ran past its budget (the
//! search found 38 items explained, then spent 60 s in the breadth-first search); the new one
//! needs 1,801 states.
//!
//! **Inputs the material lacks.** A trace imported from server logs alone has no operator
//! records: `restatectl nodes set-storage-state` leaves no server-log line, so the trace
//! cannot say whether the operator changed a storage state. The header lists such a kind as
//! `unknown` (with a budget, forced moves allowed); a step of it may happen unlogged, but a
//! verdict must hold whatever those steps were, or say what it needs. Three passes:
//!
//! 1. *None of them.* The trace validated with their budget 0. If it conforms, the verdict is
//!    "conforms": the logs are a behaviour of the model with no step nobody could see (the
//!    import's notes say so: an operator change with no effect on anything logged is not
//!    ruled out, and is the one thing such a verdict does not speak to).
//! 2. *Legal ones only.* If pass 1 rejects, the trace is validated with the operator's moves
//!    that `restatectl` allows without `--force`. A conforming explanation there needs an
//!    unlogged change: the verdict is "inconclusive: needs" the operator records, at the item
//!    pass 1 rejected. A forced move that happens to be legal is one of these moves, and any
//!    other forced move breaks "storage states only make legal moves", so no explanation that
//!    keeps every property uses one: when pass 2 rejects, no operator behaviour makes the
//!    trace conform, and the first item after which none does is pass 2's. Pass 2 holds
//!    every interleaving of the legal moves with the other unlogged steps, so it is bounded
//!    to a quarter of `--max-frontier` and half of the time left; cut there, the verdict is
//!    "inconclusive: needs" the operator records, naming pass 1's rejection. (The logs-only
//!    `steady-load-forced` loglet 0_5, which pass 1 rejects at a seal assist the model leaves
//!    out, held a million states at its second item before this bound, 644 MB in 52 s with it.)
//! 3. *Any explanation.* A depth-first search on the scenario's model with forced moves,
//!    properties not required, with 40 times the usual budget: what is in flight lands
//!    first, then a move back to Provisioning that a `provisioned` in the window or a
//!    refusal for all-Provisioning members next needs, then the other moves. If it finds
//!    one, every explanation breaks a property (pass 2) and one exists: "violates", naming the
//!    legal moves when the explanation breaks them, at pass 2's item. If it finds none within
//!    its budget, whether the rejection is a violation or a divergence is not decided:
//!    "inconclusive", naming pass 2's verdict and the input. Only pass 3 can tell the two
//!    apart, and the depth-first search is not exhaustive, so "diverges" is never claimed.
//!
//! Without `actions.jsonl` the crash before a restart is unlogged in the same spirit, but it
//! is not `unknown`: the restart in the log proves the crash, only its moment is open, and
//! the budget is exactly one crash per restart, so every crash the search places is one that
//! happened.
//!
//! The incident forced without operator records is the case in point: its logs show every
//! member provisioned and then a seal refused because all looked Provisioning. Pass 1 rejects
//! at the refusal (the new pruning rule above makes that immediate), pass 2 too (no legal move
//! re-enters Provisioning: the storage-state rule above decides it without a search), and pass 3 finds the forced moves: the trace violates the legal
//! moves at the refusal, as the full material does at the forced move itself.
//!
//! **Violations by one explanation.** A step that breaks a property whatever the state it is
//! taken in (an operator move into Provisioning breaks "storage states only make legal moves":
//! no state may legally enter it) needs no search of all explanations: if some explanation of
//! the items before it keeps every property, and some explanation goes on to explain the
//! step, then the first item every explanation breaks a property at is this one, and the
//! property is the step's. Properties whose breach depends on the state (acknowledged past the
//! sealed tail, a seal on too few confirmations) keep the all-explanations rule.

use std::time::Duration;

use sealcheck_model::{Bug, SealModel};
use serde::Serialize;

use crate::exit::Exit;
use crate::trace_reader::{Header, TraceItem};

mod breadth_first;
mod context;
mod depth_first;
mod extend;
mod localize;
mod phases;
mod prune;
pub mod reduce;
pub mod report;
mod storage;

pub(crate) use context::label_consumptions;
pub use depth_first::step_local_violation;
pub use extend::{extend_file, Witness};
pub use phases::{validate_file, validate_reader};

/// Options of a validation.
#[derive(Clone, Debug)]
pub struct ValidateOptions {
    /// Most unlogged steps in a row between two items; a search cut by it is inconclusive
    /// unless it found a conforming explanation.
    pub max_hidden: u32,
    /// Most states the search holds for one item (its closure included); beyond it the verdict
    /// is inconclusive.
    pub max_frontier: usize,
    /// Validate against the permissive model (every seeded bug enabled) so that violations are
    /// told apart from divergences. Without it, a run that breaks a property diverges.
    pub permissive: bool,
    /// Try the depth-first search for one conforming explanation first (files up to
    /// [`DEPTH_FIRST_MAX_BYTES`]).
    pub depth_first: bool,
    /// Explore only the unlogged steps a stubborn set needs and deduplicate by canonical
    /// fingerprints (see the module essay). Off only to measure what it saves.
    pub reduce: bool,
    /// Wall-clock bound of one validation; beyond it the verdict is inconclusive.
    pub timeout: Option<Duration>,
    /// Resident-memory bound of the process in MiB; beyond it the verdict is inconclusive.
    pub max_memory_mib: Option<u64>,
    /// Print progress lines on stderr about once a second on long validations.
    pub progress: bool,
    /// Prune states by every observation in the lookahead, not only the next item (module
    /// essay, "Pruning by later observations"; only when validating a file, which can be read
    /// again to localize a rejection). Off only to check that it changes no verdict.
    pub prune_ahead: bool,
    /// How the steps of the header's [`unknown`](Header::unknown) kinds are searched (module
    /// essay, "Inputs the material lacks"). Set by the validator itself for its passes.
    pub unknown: UnknownSteps,
    /// In a cluster, before the breadth-first search of the model, search the model with
    /// abstract known global tails (module essay, "Abstract tails"): a rejection it proves at
    /// an item the items before which the depth-first search explains is the verdict. Off only
    /// to check that it changes no verdict.
    pub abstract_tails: bool,
}

/// How a search treats the steps of kinds the trace's material cannot show
/// ([`Header::unknown`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownSteps {
    /// As the header says: within their budget, forced operator moves included if
    /// `faults.operator_force`.
    #[default]
    AsWritten,
    /// None of them happened (their budgets 0).
    Absent,
    /// Only steps that break no property: the operator's moves without `--force`.
    Legal,
}

impl ValidateOptions {
    /// The header a search of a trace with header `h` uses ([`ValidateOptions::unknown`]).
    pub fn header_for(&self, h: &Header) -> Header {
        match self.unknown {
            UnknownSteps::AsWritten => h.clone(),
            UnknownSteps::Absent => h.assuming_unknown_absent(),
            UnknownSteps::Legal => h.with_legal_unknown(),
        }
    }
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            max_hidden: 100_000_000,
            max_frontier: 2_000_000,
            permissive: true,
            depth_first: true,
            reduce: true,
            timeout: None,
            max_memory_mib: None,
            progress: false,
            prune_ahead: true,
            unknown: UnknownSteps::AsWritten,
            abstract_tails: true,
        }
    }
}

/// Where in a trace something happened.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct At {
    /// 0-based index of the item (events and observations, header excluded).
    pub index: usize,
    /// 1-based line in the file (0 for the end of the trace).
    pub line: usize,
    /// The line as written, or `<end of trace>`.
    pub text: String,
}

/// What validation concluded.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// A behaviour of the model produces the trace and keeps every property.
    Conforms {
        /// How many distinct model states (up to the reductions) explain the whole trace; 1
        /// when the depth-first search found one.
        explanations: usize,
    },
    /// No behaviour explains the item at `at`.
    Diverges {
        /// The first item no behaviour explains.
        at: At,
        /// Items explained before it.
        explained: usize,
        /// A few candidate states the explained prefix can end in, one fact per line.
        candidates: Vec<Vec<String>>,
        /// What the model would have allowed instead (logged events, or what the observation
        /// would have seen).
        allowed: Vec<String>,
        /// Explorer path of one explanation of the prefix (the shortest the search met).
        path: String,
    },
    /// The trace is explained up to `at`, but every explanation breaks `property`.
    Violates {
        /// The name of the `always` (or, at the end of a complete run, `eventually`) property
        /// every explanation breaks.
        property: String,
        /// The item after which no explanation keeps the property.
        at: At,
        /// Explorer path of one explanation (the shortest the search met).
        path: String,
    },
    /// No behaviour of the model explains the whole trace while keeping every property (the
    /// search proved it, pruning by later observations), but a bound stopped the search for
    /// the first item none explains: it is one of the items `at` to `last`.
    Rejected {
        /// The earliest item the rejection can be at.
        at: At,
        /// Index of the last item it can be at.
        last: usize,
        /// What was proved, and the bound that stopped the localization.
        reason: String,
    },
    /// A bound stopped the search before it proved a verdict.
    Inconclusive {
        /// The item the search was at.
        at: At,
        /// Which bound, and its value.
        reason: String,
    },
}

impl Verdict {
    /// Exit status of this verdict: holds when it conforms, violated when it diverges,
    /// violates or is rejected, incomplete when inconclusive.
    pub fn exit_code(&self) -> Exit {
        match self {
            Verdict::Conforms { .. } => Exit::Holds,
            Verdict::Diverges { .. } | Verdict::Violates { .. } | Verdict::Rejected { .. } => {
                Exit::Violated
            }
            Verdict::Inconclusive { .. } => Exit::Incomplete,
        }
    }

    /// One word: conforms / diverges / violates / rejected / inconclusive.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Conforms { .. } => "conforms",
            Verdict::Diverges { .. } => "diverges",
            Verdict::Rejected { .. } => "rejected",
            Verdict::Violates { .. } => "violates",
            Verdict::Inconclusive { .. } => "inconclusive",
        }
    }
}

/// One validated file: its path and the outcome or the reason it could not be read.
pub type FileResult = (
    std::path::PathBuf,
    Result<Outcome, crate::trace_reader::TraceError>,
);

/// The result of validating one trace.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The trace file, as the reader names it (the path given).
    pub file: String,
    /// The verdict (what the JSON report flattens into the file's object).
    pub verdict: Verdict,
    /// Items read (events and observations).
    pub items: usize,
    /// Largest number of states held for one item (frontier and closure).
    pub max_frontier: usize,
    /// States generated in total.
    pub states: usize,
    /// Wall-clock time of the whole validation, every phase included, in milliseconds.
    pub elapsed_ms: u64,
    /// Peak resident memory of the process when the validation ended, MiB (the process's
    /// high-water mark: with several files validated in one process it covers them all).
    pub peak_rss_mib: u64,
    /// How the verdict was found: `depth-first` (one conforming explanation),
    /// `one-explanation` (a step that breaks a property whatever the state), or
    /// `breadth-first` (every explanation, streaming).
    pub method: &'static str,
    /// The model the trace was validated against (for `--from-trace` reproduction).
    #[serde(skip)]
    pub header: Option<Header>,
    /// Where the conforming explanation found by the depth-first search ends, for a trace
    /// that grows ([`extend_file`]); none for any other verdict or method.
    #[serde(skip)]
    pub witness: Option<std::sync::Arc<Witness>>,
}

impl At {
    /// The item at `index` of a trace, where it is written.
    pub(super) fn of(item: &TraceItem, index: usize) -> At {
        At {
            index,
            line: item.line,
            text: item.text.clone(),
        }
    }

    /// The end of a trace of `index` items (line 0, no text of its own).
    fn end(index: usize) -> At {
        At {
            index,
            line: 0,
            text: "<end of trace>".to_string(),
        }
    }
}

/// The model a trace is validated against. It is forgetful ([`SealModel::forgetful`]): its
/// states drop the reply bits of resolved appends, which [`reduce::canonical_fingerprint`]
/// ignores anyway, so a long pipeline's appends cost a few runs.
pub fn model_for(header: &Header, permissive: bool) -> SealModel {
    let mut cfg = header.config.clone();
    if permissive {
        for b in Bug::ALL {
            if !cfg.bugs.contains(&b) {
                cfg.bugs.push(b);
            }
        }
    }
    cfg.unreachable.clear();
    cfg.into_model()
        .expect("the reader validated the header's config")
        .forgetful()
}

/// Files up to this size are first searched depth-first for one explanation (the items are
/// held in memory for that); larger ones go straight to the streaming search.
pub const DEPTH_FIRST_MAX_BYTES: u64 = 64 << 20;

/// The depth-first phase may hold at most this many states (or `max_frontier`, if smaller)
/// before it hands over to the breadth-first search.
pub const DEPTH_FIRST_MAX_STATES: usize = 50_000;

/// Resident and peak resident memory of this process, MiB.
pub fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|k| k.parse::<u64>().ok())
            .map(|kb| kb / 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
