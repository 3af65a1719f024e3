// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title CouncilTimelock
 * @notice OpenZeppelin's TimelockController, unchanged: it holds the registry's council role.
 * The council's multisig (a Safe, M of N agencies) is its only proposer and canceller; anyone
 * may execute an operation once its delay has passed. Named here so the one build ships it.
 */
contract CouncilTimelock is TimelockController {
    /**
     * @param minDelay Seconds every operation waits between being scheduled and executed.
     * @param proposers Who may schedule and cancel: the council's multisig.
     * @param executors Who may execute: the zero address for anyone.
     * @param admin An optional admin for the first setup, the zero address for none.
     */
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
