//! Per-engine topics: which WebSocket streams subscribed to which names.

use std::collections::{HashMap, HashSet};

/// Topic names to subscribed tokens, and each token's topics (so that a
/// closing stream leaves them all at once).
#[derive(Debug, Default)]
pub struct Topics {
    subscribers: HashMap<Box<str>, HashSet<usize>>,
    subscriptions: HashMap<usize, Vec<Box<str>>>,
}

impl Topics {
    /// Subscribes `token` to `topic`; false when it already was.
    pub fn subscribe(&mut self, token: usize, topic: &str) -> bool {
        let added = self.subscribers.entry(topic.into()).or_default().insert(token);
        if added {
            self.subscriptions.entry(token).or_default().push(topic.into());
        }
        added
    }

    /// Unsubscribes `token` from `topic`; false when it was not subscribed.
    pub fn unsubscribe(&mut self, token: usize, topic: &str) -> bool {
        let Some(tokens) = self.subscribers.get_mut(topic) else { return false };
        if !tokens.remove(&token) {
            return false;
        }
        if tokens.is_empty() {
            self.subscribers.remove(topic);
        }
        if let Some(names) = self.subscriptions.get_mut(&token) {
            names.retain(|name| &**name != topic);
            if names.is_empty() {
                self.subscriptions.remove(&token);
            }
        }
        true
    }

    /// Unsubscribes `token` from every topic.
    pub fn leave_all(&mut self, token: usize) {
        for topic in self.subscriptions.remove(&token).unwrap_or_default() {
            if let Some(tokens) = self.subscribers.get_mut(&topic) {
                tokens.remove(&token);
                if tokens.is_empty() {
                    self.subscribers.remove(&topic);
                }
            }
        }
    }

    /// The tokens subscribed to `topic`.
    pub fn subscribers(&self, topic: &str) -> impl Iterator<Item = usize> + '_ {
        self.subscribers.get(topic).into_iter().flatten().copied()
    }

    /// The topics `token` is subscribed to, in the order it subscribed.
    pub fn subscriptions(&self, token: usize) -> &[Box<str>] {
        self.subscriptions.get(&token).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_unsubscribe_and_leave() {
        let mut topics = Topics::default();
        assert!(topics.subscribe(1, "a"));
        assert!(!topics.subscribe(1, "a"));
        assert!(topics.subscribe(2, "a"));
        assert!(topics.subscribe(1, "b"));
        let mut a: Vec<usize> = topics.subscribers("a").collect();
        a.sort_unstable();
        assert_eq!(a, [1, 2]);
        assert_eq!(topics.subscriptions(1), [Box::from("a"), Box::from("b")]);
        assert!(topics.unsubscribe(2, "a"));
        assert!(!topics.unsubscribe(2, "a"));
        topics.leave_all(1);
        assert_eq!(topics.subscribers("a").count(), 0);
        assert_eq!(topics.subscribers("b").count(), 0);
        assert!(topics.subscriptions(1).is_empty());
        assert!(topics.subscribers.is_empty() && topics.subscriptions.is_empty());
    }
}
