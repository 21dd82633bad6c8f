/**
 * The command line, started by bin/egress-lab.js once its signal handling is in place.
 */
import './cli.ts';
