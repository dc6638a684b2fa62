#!/usr/bin/env node
// The `snakebridge` executable: runs the built command line.
import '../dist/bin.js';
