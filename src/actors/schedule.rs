//! When the matcher runs: the coalescing schedule of [`super::matcher::MatcherActor`]
//! as a pure state machine, so every transition is unit-tested with paused time.
//!
//! Inputs: a file notice ([`RunSchedule::files_ingested`], saying whether more files
//! wait behind it), a re-match request
//! ([`RunSchedule::rematch_requested`]), the start-up catch-up
//! ([`RunSchedule::catch_up`]), the wake-up timer ([`RunSchedule::timer_fired`]), a
//! finished run ([`RunSchedule::run_finished`]) and the check itself
//! ([`RunSchedule::check`]), which answers with a [`Step`]: wait, start a run, or
//! nothing left to do. The actor only carries out the steps (timers, runs, drain
//! replies).
//!
//! Invariants:
//! * at most one run at a time ([`State::Running`]); what arrives meanwhile is kept in
//!   the state and considered when the run finishes;
//! * a run starts a window after the last notice, but never later than
//!   [`MAX_COALESCE_WAIT`] after the first uncovered one (a steady trickle of files
//!   cannot starve matching, notify#146); a catch-up or a drain starts it at once;
//! * the window is adaptive (see [`QUIET_WINDOW`]): [`QUIET_WINDOW`] after a file
//!   notice with nothing waiting behind it, [`COALESCE_WINDOW`] after one with more
//!   files waiting and after a review request;
//! * while the ingest is storing a batch ([`RunSchedule::check`]'s `ingest_busy`) a
//!   run does not start even when the window has passed: the batch's notice follows,
//!   and a run started now would compete with it for the cores and be superseded by
//!   the next one (a burst whose first files arrived alone). Still bounded by
//!   [`MAX_COALESCE_WAIT`], so a busy ingest cannot starve matching either;
//! * a wake-up is scheduled only when none is due sooner, so the earliest one
//!   scheduled is the one the schedule remembers; a wake-up only re-evaluates, so
//!   one that outlives the state that asked for it is harmless.

use std::time::Duration;

use tokio::time::Instant;

use crate::model::Trigger;

/// Quiet period after a notice whose files have more behind them (a burst), or after
/// a review request (a reviewer's quick clicks), before a run starts. With more files
/// waiting their own notices follow, so this only bounds the wait when those files
/// end up skipped or rejected (no notice).
pub const COALESCE_WINDOW: Duration = Duration::from_millis(1000);
/// Quiet period after a notice whose files had nothing behind them: the ingest knew
/// of no further file (ready or settling), so a lone file in a quiet directory is
/// matched at once instead of waiting [`COALESCE_WINDOW`], and the last batch of a
/// burst is not followed by a second of idling. The rule: the window is chosen by
/// the last notice, because the ingest, not a timer, knows whether a drop is over.
/// 100 ms still coalesces a producer that renames files one after another with
/// short pauses (each such file arrives alone, with nothing behind it).
pub const QUIET_WINDOW: Duration = Duration::from_millis(100);
/// Upper bound on how long uncovered files wait for a run while files keep arriving.
pub const MAX_COALESCE_WAIT: Duration = Duration::from_secs(10);

/// What asked for a run besides uncovered files, in the order of precedence for the
/// run's trigger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Request {
    /// Only files (if any).
    #[default]
    Files,
    /// A review action or config change: run even without new files.
    Review,
    /// Start-up catch-up: run at the next check, without waiting for the window.
    CatchUp,
}

/// Work waiting for a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    /// When the first uncovered notice (or request) arrived; `None` for a catch-up
    /// that no notice accompanied.
    pub since: Option<Instant>,
    pub request: Request,
}

impl Pending {
    fn mark(&mut self, at: Instant, request: Request) {
        self.since.get_or_insert(at);
        self.request = self.request.max(request);
    }
}

/// The matcher's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Nothing uncovered is known and nothing was asked for.
    Idle,
    /// Work waits for the debounce.
    Waiting(Pending),
    /// A run is in progress; what arrived meanwhile (`None`: nothing).
    Running(Option<Pending>),
}

/// What the actor does after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Check again after this long (a wake-up was scheduled).
    WakeAfter(Duration),
    /// Start a run covering every file up to `covers_generation`.
    Start(RunPlan),
    /// Everything is covered: answer anyone waiting for the drain.
    Drained,
    /// Nothing to do now (a run or an earlier wake-up will check again).
    Nothing,
}

/// A run to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlan {
    pub trigger: Trigger,
    /// Files committed since the last covered generation.
    pub files: u64,
    pub covers_generation: u64,
}

/// The coalescing schedule (see the module invariants).
#[derive(Debug, Clone)]
pub struct RunSchedule {
    state: State,
    /// Highest generation a finished run covered.
    covered: u64,
    /// When the last notice or request arrived (the window counts from it).
    last_notice: Instant,
    /// The window the last notice asked for.
    window: Duration,
    /// When the scheduled wake-up fires, if one is scheduled.
    wake_at: Option<Instant>,
}

impl RunSchedule {
    /// A schedule whose files up to `covered` need no run.
    pub fn new(covered: u64) -> Self {
        RunSchedule {
            state: State::Idle,
            covered,
            last_notice: Instant::now(),
            window: COALESCE_WINDOW,
            wake_at: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn covered(&self) -> u64 {
        self.covered
    }

    /// Files up to `generation` are committed; `more_waiting`: the ingest knows of
    /// further files behind them (their notices follow). Returns the wake-up to
    /// schedule.
    pub fn files_ingested(&mut self, generation: u64, more_waiting: bool) -> Option<Duration> {
        if generation <= self.covered {
            return None; // a finished run already covered it
        }
        let window = if more_waiting {
            COALESCE_WINDOW
        } else {
            QUIET_WINDOW
        };
        self.notice(Request::Files, window)
    }

    /// A review or config change asks for a run (coalesced like files).
    pub fn rematch_requested(&mut self) -> Option<Duration> {
        self.notice(Request::Review, COALESCE_WINDOW)
    }

    /// Files without a covering run exist (start-up): run at the next check.
    pub fn catch_up(&mut self) {
        match &mut self.state {
            State::Idle => {
                self.state = State::Waiting(Pending {
                    since: None,
                    request: Request::CatchUp,
                })
            }
            State::Waiting(p) => p.request = Request::CatchUp,
            State::Running(next) => {
                next.get_or_insert_with(Pending::default).request = Request::CatchUp
            }
        }
    }

    /// A scheduled wake-up fired (the actor checks next). Forgets the remembered
    /// one once it is due; an earlier-scheduled, later-due one firing changes nothing.
    pub fn timer_fired(&mut self) {
        if self.wake_at.is_some_and(|at| at <= Instant::now()) {
            self.wake_at = None;
        }
    }

    /// The run in progress finished, having covered up to `covered`; files up to
    /// `current` are committed. The actor checks next.
    pub fn run_finished(&mut self, covered: u64, current: u64) {
        self.covered = self.covered.max(covered);
        let next = match self.state {
            State::Running(next) => next,
            other => {
                tracing::error!(state = ?other, "run finished while none was running");
                None
            }
        };
        let mut next = next.unwrap_or_default();
        if current > self.covered && next.since.is_none() {
            // Committed, but its notice is still on its way.
            next.since = Some(Instant::now());
        }
        self.state = if next == Pending::default() {
            State::Idle
        } else {
            State::Waiting(next)
        };
    }

    /// Decides what to do now; files up to `current` are committed, `draining`: the
    /// service is stopping and waits for everything to be matched, `ingest_busy`: the
    /// ingest is storing files right now (their notice is to come).
    pub fn check(&mut self, current: u64, draining: bool, ingest_busy: bool) -> Step {
        let pending = match self.state {
            State::Running(_) => return Step::Nothing, // its completion checks again
            State::Idle => Pending::default(),
            State::Waiting(p) => p,
        };
        if current <= self.covered && pending.request == Request::Files {
            self.state = State::Idle;
            return Step::Drained;
        }
        let now = Instant::now();
        let catch_up = pending.request == Request::CatchUp;
        let Some(since) = pending.since.or(catch_up.then_some(now)) else {
            self.state = State::Waiting(Pending {
                since: Some(now),
                ..pending
            });
            return self.wake(self.window);
        };
        let quiet = now.saturating_duration_since(self.last_notice);
        let waited = now.saturating_duration_since(since);
        let settled = quiet >= self.window && !ingest_busy;
        if draining || catch_up || settled || waited >= MAX_COALESCE_WAIT {
            let files = current.saturating_sub(self.covered);
            let trigger = match (pending.request, files) {
                (Request::CatchUp, 0) => Trigger::Startup,
                (Request::Review, 0) => Trigger::Review,
                (_, 1) => Trigger::File,
                _ => Trigger::Batch,
            };
            self.state = State::Running(None);
            Step::Start(RunPlan {
                trigger,
                files,
                covers_generation: current,
            })
        } else {
            self.state = State::Waiting(pending);
            // A busy ingest is asked again a window later (its notice, if any, comes
            // sooner and re-arms the wait).
            let rest = self.window.saturating_sub(quiet);
            let rest = if rest.is_zero() { self.window } else { rest };
            self.wake(rest.min(MAX_COALESCE_WAIT - waited))
        }
    }

    fn notice(&mut self, request: Request, window: Duration) -> Option<Duration> {
        let now = Instant::now();
        self.last_notice = now;
        self.window = window;
        match &mut self.state {
            State::Idle => {
                let mut p = Pending::default();
                p.mark(now, request);
                self.state = State::Waiting(p);
            }
            State::Waiting(p) => p.mark(now, request),
            State::Running(next) => {
                next.get_or_insert_with(Pending::default).mark(now, request);
                return None; // the run's completion checks again
            }
        }
        match self.wake(window) {
            Step::WakeAfter(d) => Some(d),
            _ => None,
        }
    }

    /// Schedules a check after `after`, unless one is already due by then (it
    /// re-evaluates and schedules the rest).
    fn wake(&mut self, after: Duration) -> Step {
        let at = Instant::now() + after;
        if self.wake_at.is_some_and(|due| due <= at) {
            return Step::Nothing;
        }
        self.wake_at = Some(at);
        Step::WakeAfter(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    const MS: Duration = Duration::from_millis(1);
    /// The ingest knows of more files behind a notice (a burst) / of none.
    const MORE: bool = true;
    const ALONE: bool = false;
    /// The ingest is storing a batch / is not.
    const BUSY: bool = true;
    const IDLE: bool = false;

    /// The wake-up fired after `after`: advance the paused clock and check.
    async fn wake(s: &mut RunSchedule, after: Duration, current: u64) -> Step {
        advance(after).await;
        s.timer_fired();
        s.check(current, false, IDLE)
    }

    fn started(step: Step) -> RunPlan {
        match step {
            Step::Start(plan) => plan,
            other => panic!("expected a run to start, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_runs_once_a_window_after_the_last_file() {
        let mut s = RunSchedule::new(0);
        assert_eq!(s.files_ingested(1, MORE), Some(COALESCE_WINDOW));
        advance(400 * MS).await;
        assert_eq!(s.files_ingested(2, MORE), None, "one wake-up at a time");
        advance(400 * MS).await;
        assert_eq!(s.files_ingested(3, MORE), None);
        // The first wake-up (t = 1000 ms) is 200 ms after the last file.
        assert_eq!(wake(&mut s, 200 * MS, 3).await, Step::WakeAfter(800 * MS));
        let plan = started(wake(&mut s, 800 * MS, 3).await);
        assert_eq!(
            plan,
            RunPlan {
                trigger: Trigger::Batch,
                files: 3,
                covers_generation: 3
            }
        );
        assert_eq!(s.state(), State::Running(None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_trickle_runs_at_the_maximum_wait() {
        let mut s = RunSchedule::new(0);
        let first = Instant::now();
        let mut generation = 1;
        let mut wake_at = Some(first + s.files_ingested(generation, MORE).expect("wake-up"));
        loop {
            advance(500 * MS).await;
            generation += 1;
            assert_eq!(s.files_ingested(generation, MORE), None);
            if wake_at.is_some_and(|at| Instant::now() >= at) {
                s.timer_fired();
                match s.check(generation, false, IDLE) {
                    Step::WakeAfter(d) => wake_at = Some(Instant::now() + d),
                    Step::Start(plan) => {
                        assert_eq!(Instant::now() - first, MAX_COALESCE_WAIT);
                        assert_eq!(plan.trigger, Trigger::Batch);
                        assert_eq!(plan.files, generation);
                        return;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert!(Instant::now() - first <= MAX_COALESCE_WAIT, "starved");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_file_is_a_file_run_and_a_covered_notice_is_dropped() {
        let mut s = RunSchedule::new(4);
        assert_eq!(s.files_ingested(4, MORE), None);
        assert_eq!(s.state(), State::Idle);
        assert_eq!(s.check(4, false, IDLE), Step::Drained);
        assert_eq!(s.files_ingested(5, MORE), Some(COALESCE_WINDOW));
        let plan = started(wake(&mut s, COALESCE_WINDOW, 5).await);
        assert_eq!((plan.trigger, plan.files), (Trigger::File, 1));
        s.run_finished(5, 5);
        assert_eq!(s.covered(), 5);
        assert_eq!(s.state(), State::Idle);
        assert_eq!(s.check(5, false, IDLE), Step::Drained);
    }

    #[tokio::test(start_paused = true)]
    async fn notices_during_a_run_give_one_more_run_after_the_window() {
        let mut s = RunSchedule::new(0);
        s.files_ingested(1, MORE);
        started(wake(&mut s, COALESCE_WINDOW, 1).await);
        advance(300 * MS).await;
        assert_eq!(s.files_ingested(2, MORE), None, "no wake-up while running");
        assert_eq!(s.rematch_requested(), None);
        assert_eq!(s.check(2, true, IDLE), Step::Nothing, "never two runs");
        advance(300 * MS).await;
        s.run_finished(1, 2);
        // 300 ms since the last notice: wait for the rest of the window.
        assert_eq!(s.check(2, false, IDLE), Step::WakeAfter(700 * MS));
        let plan = started(wake(&mut s, 700 * MS, 2).await);
        assert_eq!((plan.trigger, plan.files), (Trigger::File, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_review_without_files_is_a_review_run() {
        let mut s = RunSchedule::new(7);
        assert_eq!(s.rematch_requested(), Some(COALESCE_WINDOW));
        advance(500 * MS).await;
        assert_eq!(s.rematch_requested(), None, "quick clicks coalesce");
        assert_eq!(wake(&mut s, 500 * MS, 7).await, Step::WakeAfter(500 * MS));
        let plan = started(wake(&mut s, 500 * MS, 7).await);
        assert_eq!(
            plan,
            RunPlan {
                trigger: Trigger::Review,
                files: 0,
                covers_generation: 7
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn catch_up_starts_at_once_and_outranks_a_review() {
        let mut s = RunSchedule::new(0);
        s.rematch_requested();
        s.catch_up();
        let plan = started(s.check(0, false, IDLE));
        assert_eq!(plan.trigger, Trigger::Startup);
        // During a run, a catch-up waits for it, then starts without a window.
        s.catch_up();
        assert_eq!(s.check(0, false, IDLE), Step::Nothing);
        s.run_finished(0, 2);
        let plan = started(s.check(2, false, IDLE));
        assert_eq!((plan.trigger, plan.files), (Trigger::Batch, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_drain_starts_pending_work_at_once_and_then_reports_drained() {
        let mut s = RunSchedule::new(0);
        s.files_ingested(1, MORE);
        advance(10 * MS).await;
        let plan = started(s.check(1, true, IDLE));
        assert_eq!(plan.covers_generation, 1);
        s.run_finished(1, 1);
        assert_eq!(s.check(1, true, IDLE), Step::Drained);
    }

    #[tokio::test(start_paused = true)]
    async fn a_commit_whose_notice_is_in_flight_waits_a_window() {
        // The wake-up armed by the first file is still scheduled when the run ends.
        let mut s = RunSchedule::new(0);
        s.files_ingested(1, MORE);
        started(s.check(1, true, IDLE));
        s.run_finished(1, 1);
        advance(COALESCE_WINDOW).await;
        s.timer_fired();
        assert_eq!(s.check(2, false, IDLE), Step::WakeAfter(COALESCE_WINDOW));
        assert!(matches!(s.state(), State::Waiting(p) if p.since == Some(Instant::now())));
        let plan = started(wake(&mut s, COALESCE_WINDOW, 2).await);
        assert_eq!((plan.trigger, plan.files), (Trigger::File, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_file_runs_a_quiet_window_after_its_notice() {
        let mut s = RunSchedule::new(0);
        assert_eq!(s.files_ingested(1, ALONE), Some(QUIET_WINDOW));
        let plan = started(wake(&mut s, QUIET_WINDOW, 1).await);
        assert_eq!((plan.trigger, plan.files), (Trigger::File, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_runs_once_a_quiet_window_after_its_last_batch() {
        let mut s = RunSchedule::new(0);
        let first = Instant::now();
        assert_eq!(s.files_ingested(1, MORE), Some(COALESCE_WINDOW));
        for generation in 2..=4 {
            advance(300 * MS).await;
            assert_eq!(s.files_ingested(generation, MORE), None);
        }
        // t = 1000 ms: the first wake-up finds the last notice 100 ms old.
        assert_eq!(wake(&mut s, 100 * MS, 4).await, Step::WakeAfter(900 * MS));
        advance(100 * MS).await;
        // The last batch: nothing behind it, so an earlier wake-up is scheduled.
        assert_eq!(s.files_ingested(5, ALONE), Some(QUIET_WINDOW));
        let plan = started(wake(&mut s, QUIET_WINDOW, 5).await);
        assert_eq!((plan.trigger, plan.files), (Trigger::Batch, 5));
        assert_eq!(Instant::now() - first, 1200 * MS);
        // The wake-up scheduled for the coalesce window fires later and changes nothing.
        assert_eq!(wake(&mut s, 800 * MS, 5).await, Step::Nothing);
        s.run_finished(5, 5);
        assert_eq!(s.check(5, false, IDLE), Step::Drained);
    }

    #[tokio::test(start_paused = true)]
    async fn files_waiting_that_bring_no_notice_run_after_the_coalesce_window() {
        // The files behind the notice were all skipped or rejected: no notice follows.
        let mut s = RunSchedule::new(0);
        assert_eq!(s.files_ingested(1, MORE), Some(COALESCE_WINDOW));
        assert_eq!(wake(&mut s, QUIET_WINDOW, 1).await, Step::Nothing);
        let plan = started(wake(&mut s, COALESCE_WINDOW - QUIET_WINDOW, 1).await);
        assert_eq!(plan.files, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn more_files_behind_a_lone_one_widen_the_window() {
        let mut s = RunSchedule::new(0);
        assert_eq!(s.files_ingested(1, ALONE), Some(QUIET_WINDOW));
        advance(50 * MS).await;
        assert_eq!(
            s.files_ingested(2, MORE),
            None,
            "the earlier wake-up re-evaluates"
        );
        assert_eq!(wake(&mut s, 50 * MS, 2).await, Step::WakeAfter(950 * MS));
        let plan = started(wake(&mut s, 950 * MS, 2).await);
        assert_eq!((plan.trigger, plan.files), (Trigger::Batch, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_file_during_a_run_runs_a_quiet_window_after_its_notice() {
        let mut s = RunSchedule::new(0);
        s.files_ingested(1, ALONE);
        started(wake(&mut s, QUIET_WINDOW, 1).await);
        advance(10 * MS).await;
        assert_eq!(s.files_ingested(2, ALONE), None, "no wake-up while running");
        advance(40 * MS).await;
        s.run_finished(1, 2);
        // 40 ms since the notice: the rest of the quiet window, not of a second.
        assert_eq!(s.check(2, false, IDLE), Step::WakeAfter(60 * MS));
        let plan = started(wake(&mut s, 60 * MS, 2).await);
        assert_eq!((plan.trigger, plan.files), (Trigger::File, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_review_request_still_waits_the_coalesce_window() {
        let mut s = RunSchedule::new(3);
        assert_eq!(s.files_ingested(3, ALONE), None, "already covered");
        assert_eq!(s.rematch_requested(), Some(COALESCE_WINDOW));
        assert_eq!(wake(&mut s, QUIET_WINDOW, 3).await, Step::Nothing);
        let plan = started(wake(&mut s, COALESCE_WINDOW - QUIET_WINDOW, 3).await);
        assert_eq!(plan.trigger, Trigger::Review);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_waits_while_the_ingest_stores_the_next_batch() {
        // The first files of a burst arrive alone; the rest is being stored when the
        // quiet window ends.
        let mut s = RunSchedule::new(0);
        assert_eq!(s.files_ingested(1, ALONE), Some(QUIET_WINDOW));
        advance(QUIET_WINDOW).await;
        s.timer_fired();
        assert_eq!(s.check(1, false, BUSY), Step::WakeAfter(QUIET_WINDOW));
        advance(30 * MS).await;
        assert_eq!(
            s.files_ingested(257, ALONE),
            None,
            "the wake-up is due sooner"
        );
        // The wake-up finds the ingest idle but the last notice only 70 ms old.
        advance(70 * MS).await;
        s.timer_fired();
        assert_eq!(s.check(257, false, IDLE), Step::WakeAfter(30 * MS));
        advance(30 * MS).await;
        s.timer_fired();
        let plan = started(s.check(257, false, IDLE));
        assert_eq!((plan.trigger, plan.files), (Trigger::Batch, 257));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_ingest_defers_a_run_at_most_the_maximum_wait() {
        let mut s = RunSchedule::new(0);
        let first = Instant::now();
        s.files_ingested(1, ALONE);
        let mut after = QUIET_WINDOW;
        loop {
            advance(after).await;
            s.timer_fired();
            match s.check(1, false, BUSY) {
                Step::WakeAfter(d) => after = d,
                Step::Start(plan) => {
                    assert_eq!(plan.files, 1);
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(Instant::now() - first, MAX_COALESCE_WAIT);
        // A drain does not wait for the ingest.
        s.run_finished(1, 2);
        let plan = started(s.check(2, true, BUSY));
        assert_eq!(plan.covers_generation, 2);
    }
}
