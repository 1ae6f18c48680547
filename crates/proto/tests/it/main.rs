mod drift;

mod secrets;
