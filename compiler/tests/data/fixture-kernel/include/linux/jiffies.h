/* The fixture kernel's tick counter. */
extern unsigned long volatile jiffies;
