//! Plain HTTP endpoints shared by every port.

pub mod health;
