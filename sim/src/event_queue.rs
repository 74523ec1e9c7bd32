//! The future-event list of a replication: the timer queue the engine uses too
//! (`switchboard-timer-queue`), ordered by (time, sequence), with a due-now lane, an ordered
//! lane for streams scheduled in time order, and a heap for the rest.

/// Events of type `T` waiting for their time.
///
/// ```
/// use switchboard_sim::event_queue::EventQueue;
/// let mut queue = EventQueue::new();
/// queue.schedule(20, "late");
/// queue.schedule(10, "first");
/// assert_eq!(queue.pop(), Some((10, "first")));
/// assert_eq!(queue.pop(), Some((20, "late")));
/// ```
pub type EventQueue<T> = switchboard_timer_queue::TimerQueue<T>;
